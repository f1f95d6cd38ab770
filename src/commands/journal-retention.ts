import type { Commit } from './commit.js';
import type { Journal } from './journal.js';

// The journal's bounds: entries older than retention_days, and beyond the newest max_rows, are
// removed. A big prune (a lowered max_rows, a first start on an old database) runs as many short
// batches, each in its own turn of the event loop through the same commit as the commands, so a
// command arriving meanwhile waits for one batch at most, never for the whole prune.

const DAY_MS = 86_400_000;
/** Rows per batch: a few milliseconds of SQLite work. */
export const PRUNE_BATCH_ROWS = 2000;

export interface RetentionSettings {
  retention_days: number;
  max_rows: number;
}

export interface RetentionLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

export interface JournalRetentionDeps {
  journal: Journal;
  commit: Commit;
  /** Read at each prune, so a reloaded config applies at the next one. */
  settings(): RetentionSettings;
  log: RetentionLogger;
  now?: () => number;
  batchRows?: number;
}

export class JournalRetention {
  private running: Promise<number> | undefined;
  private next: Promise<number> | undefined;
  private stopped = false;

  constructor(private readonly deps: JournalRetentionDeps) {}

  /** Start a prune (after the one under way, if any); resolves with how many entries it removed. Never rejects. */
  prune(): Promise<number> {
    // One under way read its settings when it began: a reload may have changed them since, so a
    // prune asked for meanwhile runs once more after it (several such asks share that one run).
    if (this.running) return (this.next ??= this.running.then(() => ((this.next = undefined), this.prune())));
    this.running = this.run().finally(() => (this.running = undefined));
    return this.running;
  }

  /** No further batches; resolves once the batch under way (if any) is done. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.running;
  }

  private async run(): Promise<number> {
    const { journal, commit, log } = this.deps;
    const batch = this.deps.batchRows ?? PRUNE_BATCH_ROWS;
    const settings = this.deps.settings();
    const limits = { before: (this.deps.now ?? Date.now)() - settings.retention_days * DAY_MS, maxRows: settings.max_rows };
    let total = 0;
    try {
      while (!this.stopped) {
        const removed = await commit(() => journal.prune(limits, batch));
        total += removed;
        if (removed < batch) break;
        // The commands' writes of the next turn go first.
        await new Promise((resolve) => setImmediate(resolve));
      }
    } catch (err) {
      log.warn({ err: String(err), removed: total }, 'could not prune the journal; the next housekeeping tries again');
      return total;
    }
    if (total > 0) log.info({ journal_entries: total, retention_days: settings.retention_days, max_rows: settings.max_rows }, 'journal pruned');
    return total;
  }
}
