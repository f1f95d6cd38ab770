import type { Commit } from '../commands/commit.js';
import type { SqliteDatabase } from './database.js';
import type { PooledSync } from './pooled-sync.js';
import { SYNCHRONOUS, synchronousLevel, withSynchronous } from './synchronous.js';

// Group commit: writes handed over during one turn of the event loop run in one transaction at the
// end of that turn, so a burst of commands costs one fsync instead of one per write, and nothing
// waits on a timer. Each write runs in its own savepoint, so one failing write does not undo the
// others; a failed COMMIT (disk full, I/O error) rejects every write of the batch.
//
// Where the fsync happens: without `sync`, inside COMMIT at the connection's own level (FULL), on the
// event loop. With `sync` (the gateway's fdatasync of the WAL, pooled), the batch commits at
// synchronous=NORMAL (its WAL frames written, not synced) and its writes resolve only once a sync
// started after that COMMIT has returned; the loop runs meanwhile. Writes handed over while a sync
// runs could not resolve before the next one anyway, so they wait for it to return and are then
// committed together: one transaction per sync, as large as when the fsync held the loop. Either way
// a write's promise resolves only once it is on disk.

interface Job {
  write: () => unknown;
  resolve: (value: unknown) => void;
  reject: (err: unknown) => void;
}

type Outcome = { ok: true; value: unknown } | { ok: false; err: unknown };

export interface GroupCommitOptions {
  /** Makes every committed frame durable (the `-wal` file's fdatasync); turns on NORMAL commits. */
  sync?: PooledSync;
}

export class GroupCommit {
  private queue: Job[] = [];
  private scheduled: NodeJS.Immediate | undefined;
  /** A commit is due when the sync that runs now returns. */
  private awaitingSync = false;

  /** One savepoint around one write (a transaction function called inside another nests as a savepoint). */
  private readonly inSavepoint: (write: () => unknown) => unknown;
  /** The batch's transaction; built once: better-sqlite3 builds a new wrapper on every db.transaction(). */
  private readonly inTransaction: (batch: Job[], outcomes: Outcome[]) => void;
  /** The connection's own level, restored after each NORMAL commit for every other writer. */
  private readonly baseSynchronous: number;

  constructor(
    private readonly db: SqliteDatabase,
    private readonly options: GroupCommitOptions = {},
  ) {
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
    this.baseSynchronous = synchronousLevel(db);
  }

  /** Run `write` in the next group transaction; resolves with its value once that transaction is on disk. */
  readonly run: Commit = <T>(write: () => T) =>
    new Promise<T>((resolve, reject) => {
      this.queue.push({ write, resolve: resolve as (value: unknown) => void, reject });
      this.scheduled ??= setImmediate(() => this.flushUnlessSyncing());
    });

  /** The end-of-turn commit; while a pooled sync runs, it waits for that sync (see above). */
  private flushUnlessSyncing(): void {
    this.scheduled = undefined;
    const sync = this.options.sync;
    if (!sync?.busy) return this.flush();
    if (this.awaitingSync) return;
    this.awaitingSync = true;
    sync.whenIdle(() => {
      this.awaitingSync = false;
      this.flush();
    });
  }

  /** Commit everything queued now (a sync running or not); with `sync`, its writes resolve once a sync after it returns. */
  flush(): void {
    if (this.scheduled) clearImmediate(this.scheduled);
    this.scheduled = undefined;
    const batch = this.queue;
    if (batch.length === 0) return;
    this.queue = [];
    const outcomes: Outcome[] = [];
    try {
      this.commit(batch, outcomes);
    } catch (err) {
      for (const job of batch) job.reject(err);
      return;
    }
    const done: { job: Job; value: unknown }[] = [];
    batch.forEach((job, i) => {
      const outcome = outcomes[i];
      if (outcome.ok) done.push({ job, value: outcome.value });
      else job.reject(outcome.err);
    });
    const resolveAll = () => done.forEach(({ job, value }) => job.resolve(value));
    if (!this.options.sync) resolveAll();
    // Committed but perhaps not on disk if the sync fails: then no write of the batch may count as done.
    else if (done.length > 0) this.options.sync.after(resolveAll, (err) => done.forEach(({ job }) => job.reject(err)));
  }

  /** Commit what is queued and wait until every committed write is on disk (before closing the database). */
  async drain(): Promise<void> {
    this.flush();
    await this.options.sync?.idle();
  }

  private commit(batch: Job[], outcomes: Outcome[]): void {
    const level = this.options.sync ? SYNCHRONOUS.NORMAL : this.baseSynchronous;
    withSynchronous(this.db, level, this.baseSynchronous, () => this.inTransaction(batch, outcomes));
  }
}
