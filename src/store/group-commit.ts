import type { Commit } from '../commands/commit.js';
import type { SqliteDatabase } from './database.js';

// Group commit: writes handed over during one turn of the event loop run in one transaction at the
// end of that turn, so a burst of commands costs one fsync (synchronous=FULL) instead of one per
// write, and nothing waits on a timer. Each write runs in its own savepoint, so one failing write
// does not undo the others; a failed COMMIT (disk full, I/O error) rejects every write of the batch.

interface Job {
  write: () => unknown;
  resolve: (value: unknown) => void;
  reject: (err: unknown) => void;
}

type Outcome = { ok: true; value: unknown } | { ok: false; err: unknown };

export class GroupCommit {
  private queue: Job[] = [];
  private scheduled: NodeJS.Immediate | undefined;

  /** One savepoint around one write (a transaction function called inside another nests as a savepoint). */
  private readonly inSavepoint: (write: () => unknown) => unknown;
  /** The batch's transaction; built once: better-sqlite3 builds a new wrapper on every db.transaction(). */
  private readonly inTransaction: (batch: Job[], outcomes: Outcome[]) => void;

  constructor(db: SqliteDatabase) {
    this.inSavepoint = db.transaction((write: () => unknown) => write());
    this.inTransaction = db.transaction((batch: Job[], outcomes: Outcome[]) => {
      for (const job of batch) {
        try {
          outcomes.push({ ok: true, value: this.inSavepoint(job.write) });
        } catch (err) {
          outcomes.push({ ok: false, err });
        }
      }
    });
  }

  /** Run `write` in the next group transaction; resolves with its value once that transaction is on disk. */
  readonly run: Commit = <T>(write: () => T) =>
    new Promise<T>((resolve, reject) => {
      this.queue.push({ write, resolve: resolve as (value: unknown) => void, reject });
      this.scheduled ??= setImmediate(() => this.flush());
    });

  /** Commit everything queued now (also used before closing the database). */
  flush(): void {
    if (this.scheduled) clearImmediate(this.scheduled);
    this.scheduled = undefined;
    const batch = this.queue;
    if (batch.length === 0) return;
    this.queue = [];
    const outcomes: Outcome[] = [];
    try {
      this.inTransaction(batch, outcomes);
    } catch (err) {
      for (const job of batch) job.reject(err);
      return;
    }
    batch.forEach((job, i) => {
      const outcome = outcomes[i];
      if (outcome.ok) job.resolve(outcome.value);
      else job.reject(outcome.err);
    });
  }
}
