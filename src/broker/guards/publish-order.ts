// moscajs/aedes#994: aedes numbers each publish (brokerCounter) when it starts, but a QoS > 0
// publish reaches the emitter only after an asynchronous offline-queue step, while QoS 0 goes at
// once. A QoS 0 message published right after a QoS 1 one can then reach a subscriber first, and
// aedes' per-client de-duplication (higher counter already seen) silently drops the QoS 1 one.
// The gateway's own publishes therefore start one at a time, each once the previous one has
// reached the emitter; waiting only that long keeps a slow subscriber from delaying the next.

interface Emitter {
  emit(message: { payload?: unknown }, callback?: unknown): unknown;
}

function isEmitter(mq: unknown): mq is Emitter {
  return typeof mq === 'object' && mq !== null && typeof (mq as Emitter).emit === 'function';
}

export class PublishSequencer {
  private readonly waiting = new Map<unknown, () => void>();
  private tail: Promise<void> = Promise.resolve();

  /** Watches the emitter for the payloads of publishes in progress. False if `mq` is not an emitter. */
  install(mq: unknown): boolean {
    if (!isEmitter(mq)) return false;
    const emit = mq.emit;
    const waiting = this.waiting;
    mq.emit = function sequencedEmit(this: Emitter, message, callback) {
      const reached = message ? waiting.get(message.payload) : undefined;
      if (reached) {
        waiting.delete(message.payload);
        reached();
      }
      return emit.call(this, message, callback);
    };
    return true;
  }

  /**
   * Runs `publish` after every earlier one has reached the emitter. `payload` must be a Buffer
   * object used by no other publish in progress (it identifies the packet at the emitter).
   */
  async run(payload: Buffer, publish: (done: (err?: Error | null) => void) => void): Promise<void> {
    const previous = this.tail;
    let reached!: () => void;
    this.tail = new Promise<void>((resolve) => (reached = resolve));
    await previous;
    this.waiting.set(payload, reached);
    await new Promise<void>((resolve, reject) =>
      publish((err) => {
        // Failed before the emitter, or done: either way the next publish may start.
        this.waiting.delete(payload);
        reached();
        if (err) reject(err);
        else resolve();
      }),
    );
  }
}
