import type { Journal, JournalEntry, JournalLimits, JournalQuery, JournalRecord } from '../commands/journal.js';
import type { SqliteDatabase } from './database.js';

const COLUMNS = [
  'at', 'type', 'kind', 'device', 'command', 'command_id', 'event', 'source', 'client_id', 'username',
  'peer', 'payload', 'status', 'code', 'message', 'latency_ms', 'duplicate',
] as const;

type Row = Record<(typeof COLUMNS)[number] | 'seq', string | number | null>;

function toRecord(row: Row): JournalRecord {
  const record: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(row)) {
    if (value === null) continue;
    record[key] = key === 'duplicate' ? value === 1 : value;
  }
  if (record.duplicate === false) delete record.duplicate;
  return record as unknown as JournalRecord;
}

export class SqliteJournal implements Journal {
  private readonly insert;
  private readonly newestSeq;
  private readonly removeBeyondRows;
  private readonly removeOlder;

  constructor(private readonly db: SqliteDatabase) {
    this.insert = db.prepare(`INSERT INTO journal (${COLUMNS.join(', ')}) VALUES (${COLUMNS.map(() => '?').join(', ')})`);
    this.newestSeq = db.prepare<[], { seq: number | null }>('SELECT MAX(seq) AS seq FROM journal');
    // Both walk an index from its low end (the rowid, journal_at), so a batch costs about `limit` rows whatever the table's size.
    this.removeBeyondRows = db.prepare('DELETE FROM journal WHERE seq IN (SELECT seq FROM journal WHERE seq <= @newestRemoved ORDER BY seq LIMIT @limit)');
    this.removeOlder = db.prepare('DELETE FROM journal WHERE seq IN (SELECT seq FROM journal WHERE at < @before ORDER BY at LIMIT @limit)');
  }

  append(entry: JournalEntry): void {
    // Positional parameters: one row per command, and binding by name costs a lookup per column.
    const e = entry;
    this.insert.run(
      e.at, e.type, e.kind ?? null, e.device ?? null, e.command ?? null, e.command_id ?? null, e.event ?? null, e.source ?? null,
      e.client_id ?? null, e.username ?? null, e.peer ?? null, e.payload ?? null, e.status ?? null, e.code ?? null,
      e.message ?? null, e.latency_ms ?? null, e.duplicate ? 1 : 0,
    );
  }

  query(q: JournalQuery): JournalRecord[] {
    const where: string[] = [];
    const params: Record<string, unknown> = {};
    if (q.since !== undefined) (where.push('at >= @since'), (params.since = q.since));
    if (q.until !== undefined) (where.push('at <= @until'), (params.until = q.until));
    if (q.type !== undefined) (where.push('type = @type'), (params.type = q.type));
    if (q.event !== undefined) (where.push("type = 'event' AND event = @event"), (params.event = q.event));
    if (q.device !== undefined) (where.push('device = @device'), (params.device = q.device));
    if (q.username !== undefined) (where.push('username = @username'), (params.username = q.username));
    if (q.after !== undefined) (where.push('seq > @after'), (params.after = q.after));
    if (q.before !== undefined) (where.push('seq < @before'), (params.before = q.before));
    const filter = where.length ? `WHERE ${where.join(' AND ')}` : '';
    const limit = q.limit !== undefined ? `LIMIT ${Math.max(0, Math.floor(q.limit))}` : '';
    const rows = this.db.prepare<Record<string, unknown>, Row>(`SELECT * FROM journal ${filter} ORDER BY seq DESC ${limit}`).all(params);
    return rows.reverse().map(toRecord);
  }

  /**
   * About how many rows the journal holds (newest seq - oldest seq + 1: prunes remove the oldest,
   * so this is exact but for rows removed by age out of seq order) and the database file's bytes.
   * Two index lookups instead of a COUNT over a million rows.
   */
  size(): { rows: number; bytes: number } {
    const span = this.db.prepare<[], { lo: number | null; hi: number | null }>('SELECT MIN(seq) AS lo, MAX(seq) AS hi FROM journal').get();
    const rows = span?.lo == null || span.hi == null ? 0 : span.hi - span.lo + 1;
    const pages = this.db.pragma('page_count', { simple: true }) as number;
    const pageSize = this.db.pragma('page_size', { simple: true }) as number;
    return { rows, bytes: pages * pageSize };
  }

  /** The seq of the newest entry; 0 for an empty journal. */
  latestSeq(): number {
    return this.newestSeq.get()?.seq ?? 0;
  }

  /** The names of the device events the journal holds, for a hint when a name finds nothing. */
  eventNames(): string[] {
    return this.db
      .prepare<[], { event: string }>("SELECT DISTINCT event FROM journal WHERE type = 'event' AND event IS NOT NULL ORDER BY event")
      .all()
      .map((r) => r.event);
  }

  /**
   * The newest `maxRows` seqs stay: the row count is bounded without counting the table (a COUNT
   * would read every row). Seqs are never reused (AUTOINCREMENT), so holes left by the age limit
   * only make the journal keep a little less than maxRows, never more.
   */
  prune(limits: JournalLimits, batch = Number.MAX_SAFE_INTEGER): number {
    const newestRemoved = this.latestSeq() - limits.maxRows;
    let removed = 0;
    if (newestRemoved > 0) removed += this.removeBeyondRows.run({ newestRemoved, limit: batch }).changes;
    if (removed < batch) removed += this.removeOlder.run({ before: limits.before, limit: batch - removed }).changes;
    return removed;
  }
}
