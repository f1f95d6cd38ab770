import type { Outbox, OutboxMessage } from './outbox.js';

// Group commit: messages handed over during one turn of the event loop are appended in one
// transaction at the end of that turn, so a burst costs one fsync instead of one per message and
// nothing waits on a timer. A message is offered to the link only after its commit. With
// `afterSync` (the gateway: the outbox commits at NORMAL and the WAL is fsynced off the event loop),
// the turn's promise settles only once that sync has returned.

export interface WriterLogger {
  error(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

export interface OutboxWriterOptions {
  /** Messages per transaction at most; a larger backlog is committed in several. */
  maxBatch?: number;
  /** After each successful commit. */
  onCommitted?: () => void;
  /** Calls `done` once what is committed now is on disk (`failed` if that fails); without it, commits are durable by themselves. */
  afterSync?: (done: () => void, failed: (err: unknown) => void) => void;
  /** How often a persisting storage failure is logged again (the count keeps growing meanwhile). */
  errorLogIntervalMs?: number;
  now?: () => number;
}

export interface WriterStats {
  /** Handed over, not yet committed. */
  queued: number;
  committed: number;
  /** Lost because the database refused the write (disk full, locked, I/O error). */
  unstored: number;
  /** Drops by the outbox bounds reported by the commits of this process. */
  dropped: number;
  lastError?: { code: string; message: string; at: number };
}

const DEFAULT_MAX_BATCH = 2000;

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}
const DEFAULT_ERROR_LOG_INTERVAL_MS = 10_000;

export class OutboxWriter {
  private queue: OutboxMessage[] = [];
  private scheduled: NodeJS.Immediate | undefined;
  /** Settles when the messages queued so far have been through their transaction. */
  private pending: { promise: Promise<void>; resolve: () => void } | undefined;
  private readonly counters: WriterStats = { queued: 0, committed: 0, unstored: 0, dropped: 0 };
  private unstoredSinceReport = 0;
  private lastErrorLogAt = -Infinity;
  private suppressed = 0;
  private readonly maxBatch: number;
  private readonly now: () => number;

  constructor(
    private readonly outbox: Outbox,
    private readonly log: WriterLogger,
    private readonly opts: OutboxWriterOptions = {},
  ) {
    this.maxBatch = opts.maxBatch ?? DEFAULT_MAX_BATCH;
    this.now = opts.now ?? Date.now;
  }

  /**
   * Queues a message for the next group commit. The promise settles (never rejects) once the
   * transaction holding it has ended: committed (and synced, with `afterSync`), or failed and
   * counted as unstored. Every message of one turn shares one promise, as it shares one fsync.
   */
  enqueue(message: OutboxMessage): Promise<void> {
    this.queue.push(message);
    const settled = (this.pending ??= deferred()).promise;
    if (this.queue.length >= this.maxBatch) this.flush();
    else this.scheduled ??= setImmediate(() => this.flush());
    return settled;
  }

  /** Commit everything queued now. Never throws: storage failures are logged and counted. */
  flush(): void {
    if (this.scheduled) clearImmediate(this.scheduled);
    this.scheduled = undefined;
    const pending = this.pending;
    this.pending = undefined;
    let committed = false;
    while (this.queue.length > 0) {
      const batch = this.queue.length <= this.maxBatch ? this.queue : this.queue.slice(0, this.maxBatch);
      this.queue = this.queue.length <= this.maxBatch ? [] : this.queue.slice(this.maxBatch);
      try {
        const outcome = this.outbox.append(batch);
        this.counters.committed += batch.length;
        this.counters.dropped += outcome.dropped;
        committed = true;
      } catch (err) {
        this.storageFailed(err, batch.length);
      }
    }
    if (committed) this.opts.onCommitted?.();
    if (!pending) return;
    if (committed && this.opts.afterSync) this.opts.afterSync(pending.resolve, (err) => (this.syncFailed(err), pending.resolve()));
    else pending.resolve();
  }

  stats(): WriterStats {
    return { ...this.counters, queued: this.queue.length };
  }

  /** Messages lost to storage failures since the last call (they go into the next overflow report). */
  takeUnstored(): number {
    const count = this.unstoredSinceReport;
    this.unstoredSinceReport = 0;
    return count;
  }

  /** Give back a count taken with takeUnstored() whose report was not delivered. */
  restoreUnstored(count: number): void {
    this.unstoredSinceReport += count;
  }

  /** The rows are committed, but whether they reached the disk is unknown: said loudly, not counted as lost. */
  private syncFailed(err: unknown): void {
    const code = (err as { code?: string }).code ?? 'STORE_ERROR';
    const message = err instanceof Error ? err.message : String(err);
    this.counters.lastError = { code, message, at: this.now() };
    this.log.error({ code, err: message }, 'outbox sync failed; messages for the cloud are committed but perhaps not on disk');
  }

  private storageFailed(err: unknown, count: number): void {
    const code = (err as { code?: string }).code ?? 'STORE_ERROR';
    const message = err instanceof Error ? err.message : String(err);
    const at = this.now();
    this.counters.unstored += count;
    this.unstoredSinceReport += count;
    this.counters.lastError = { code, message, at };
    const interval = this.opts.errorLogIntervalMs ?? DEFAULT_ERROR_LOG_INTERVAL_MS;
    if (at - this.lastErrorLogAt >= interval) {
      this.log.error(
        { code, err: message, lost: count, suppressed_since_last_log: this.suppressed, unstored_total: this.counters.unstored },
        'outbox write failed; messages for the cloud were lost (disk full or database locked?)',
      );
      this.lastErrorLogAt = at;
      this.suppressed = 0;
    } else {
      this.suppressed++;
    }
  }
}
