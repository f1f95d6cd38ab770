// Guard for mqemitter's unbounded recursion (mcollina/mqemitter PR #204, still open for 7.1.0).
//
// When more than `concurrency` messages are in flight, mqemitter queues the rest. Each finished
// message calls `released()`, which runs the next queued one through `_do()`; a message with no
// matching subscriber finishes synchronously, so a long queue of such messages is drained by
// recursion: released -> _do -> parallel -> released -> ... A client that writes a few hundred
// kilobytes of small QoS 0 PUBLISH packets (some to a subscribed topic, the rest to an unsubscribed
// one) overflows the stack and the RangeError kills the process.
//
// The guard counts nested `_do` calls; past MAX_DEPTH it puts the message back at the head of the
// queue and resumes from a fresh stack with setImmediate. The in-flight count and the queue order
// stay exactly what mqemitter would have had, so message order is preserved (MQTT 4.6).

const MAX_DEPTH = 64;

interface MqEmitterInternals {
  _do(message: unknown, callback: unknown): unknown;
  _released(): void;
  _messageQueue: unknown[];
  _messageCallbacks: unknown[];
  current: number;
}

function hasInternals(mq: unknown): mq is MqEmitterInternals {
  const m = mq as Partial<MqEmitterInternals> | null;
  return (
    typeof m === 'object' &&
    m !== null &&
    typeof m._do === 'function' &&
    typeof m._released === 'function' &&
    Array.isArray(m._messageQueue) &&
    Array.isArray(m._messageCallbacks) &&
    typeof m.current === 'number'
  );
}

/**
 * Bound the recursion depth of an mqemitter instance. Returns false (and changes nothing) when the
 * instance does not have the internals this guard relies on, so an mqemitter upgrade is noticed.
 */
export function guardMqEmitterDepth(mq: unknown): boolean {
  if (!hasInternals(mq)) return false;
  const original = mq._do;
  let depth = 0;
  mq._do = function guardedDo(this: MqEmitterInternals, message: unknown, callback: unknown) {
    if (depth >= MAX_DEPTH) {
      // Undo what released() did before calling us: the message goes back to the head of the
      // queue and keeps its in-flight slot until the fresh stack takes it.
      this._messageQueue.unshift(message);
      this._messageCallbacks.unshift(callback);
      this.current++;
      setImmediate(() => this._released());
      return this;
    }
    depth++;
    try {
      return original.call(this, message, callback);
    } finally {
      depth--;
    }
  };
  return true;
}
