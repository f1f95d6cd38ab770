// A small typed event bus, as Zigbee2MQTT's controller uses: the parts that react to what devices
// and commands do (publishing, the uplink, links, metrics, the journal, the console) subscribe to
// it; nothing else wires them together. One listener failing (throwing, or rejecting) is logged
// and never stops the others or the emitter.

export interface BusLogger {
  error(obj: object, msg: string): void;
}

type Listener<T> = (payload: T) => void | Promise<void>;

export class EventBus<Events extends { [name: string]: unknown }> {
  private readonly listeners = new Map<keyof Events, Set<{ owner: string; fn: Listener<never> }>>();

  constructor(private readonly log: BusLogger) {}

  /** Subscribes `fn` (named `owner` in logs) to `name`; returns the function that unsubscribes it. */
  on<K extends keyof Events>(name: K, owner: string, fn: Listener<Events[K]>): () => void {
    let set = this.listeners.get(name);
    if (!set) this.listeners.set(name, (set = new Set()));
    const entry = { owner, fn: fn as Listener<never> };
    set.add(entry);
    return () => void set.delete(entry);
  }

  /** Calls every listener of `name` in subscription order, each isolated from the others. */
  emit<K extends keyof Events>(name: K, payload: Events[K]): void {
    const set = this.listeners.get(name);
    if (!set) return;
    for (const { owner, fn } of [...set]) {
      try {
        const result = (fn as Listener<Events[K]>)(payload);
        if (result instanceof Promise) result.catch((err: unknown) => this.failed(owner, name, err));
      } catch (err) {
        this.failed(owner, name, err);
      }
    }
  }

  /** As emit, then waits until every listener's work has settled (for steps that must be done before going on). */
  async emitSettled<K extends keyof Events>(name: K, payload: Events[K]): Promise<void> {
    const set = this.listeners.get(name);
    if (!set) return;
    const pending: Promise<unknown>[] = [];
    for (const { owner, fn } of [...set]) {
      try {
        const result = (fn as Listener<Events[K]>)(payload);
        if (result instanceof Promise) pending.push(result.catch((err: unknown) => this.failed(owner, name, err)));
      } catch (err) {
        this.failed(owner, name, err);
      }
    }
    await Promise.all(pending);
  }

  listenerCount(name: keyof Events): number {
    return this.listeners.get(name)?.size ?? 0;
  }

  private failed(owner: string, name: keyof Events, err: unknown): void {
    this.log.error({ err, listener: owner, event: String(name) }, 'an event listener failed; the others ran');
  }
}

/** What subscribes to the bus: built inert, subscribes in start(), unsubscribes and ends its work in stop(). */
export interface Extension {
  readonly name: string;
  start(): void | Promise<void>;
  stop(): void | Promise<void>;
}
