/**
 * One durability sync shared by every writer that committed since the last one started (the
 * gateway's: an fdatasync of the WAL in libuv's thread pool). One sync runs at a time; whoever
 * commits while it runs waits for the next, which starts as soon as that one returns, so a burst of
 * commits costs one or two syncs and the event loop never waits for the disk.
 */
export class PooledSync {
  private waiting: { done: () => void; failed: (err: unknown) => void }[] = [];
  private running: Promise<void> | undefined;
  private idleListeners: (() => void)[] = [];

  constructor(private readonly sync: () => Promise<void>) {}

  /** Call once what must be durable is committed: `done` runs once a sync started after this call has returned, `failed` if it failed. */
  after(done: () => void, failed: (err: unknown) => void): void {
    this.waiting.push({ done, failed });
    this.start();
  }

  /** A sync runs now. */
  get busy(): boolean {
    return this.running !== undefined;
  }

  /** `listener` runs once the sync running now has returned, before the next one starts (so what it commits joins that one). */
  whenIdle(listener: () => void): void {
    if (!this.running) return listener();
    this.idleListeners.push(listener);
  }

  /** Resolves once no sync runs and nobody waits (before the file is closed). */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  private start(): void {
    if (this.running || this.waiting.length === 0) return;
    const waiting = this.waiting;
    this.waiting = [];
    this.running = this.sync()
      .then(
        () => waiting.forEach((w) => w.done()),
        (err: unknown) => waiting.forEach((w) => w.failed(err)),
      )
      .finally(() => {
        this.running = undefined;
        const listeners = this.idleListeners;
        this.idleListeners = [];
        for (const listener of listeners) listener();
        this.start();
      });
  }
}
