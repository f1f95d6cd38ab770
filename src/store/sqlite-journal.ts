import type { Journal, JournalEntry, JournalQuery, JournalRecord } from '../commands/journal.js';
import type { SqliteDatabase } from './database.js';

const COLUMNS = [
  'at', 'type', 'kind', 'device', 'command', 'command_id', 'source', 'client_id', 'username',
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
  private readonly remove;

  constructor(private readonly db: SqliteDatabase) {
    this.insert = db.prepare(`INSERT INTO journal (${COLUMNS.join(', ')}) VALUES (${COLUMNS.map((c) => '@' + c).join(', ')})`);
    this.remove = db.prepare('DELETE FROM journal WHERE at < ?');
  }

  append(entry: JournalEntry): void {
    const row: Record<string, unknown> = {};
    for (const column of COLUMNS) row[column] = entry[column] ?? null;
    row.duplicate = entry.duplicate ? 1 : 0;
    this.insert.run(row);
  }

  query(q: JournalQuery): JournalRecord[] {
    const where: string[] = [];
    const params: Record<string, unknown> = {};
    if (q.since !== undefined) (where.push('at >= @since'), (params.since = q.since));
    if (q.until !== undefined) (where.push('at <= @until'), (params.until = q.until));
    if (q.type !== undefined) (where.push('type = @type'), (params.type = q.type));
    if (q.device !== undefined) (where.push('device = @device'), (params.device = q.device));
    const filter = where.length ? `WHERE ${where.join(' AND ')}` : '';
    const limit = q.limit !== undefined ? `LIMIT ${Math.max(0, Math.floor(q.limit))}` : '';
    const rows = this.db.prepare<Record<string, unknown>, Row>(`SELECT * FROM journal ${filter} ORDER BY seq DESC ${limit}`).all(params);
    return rows.reverse().map(toRecord);
  }

  prune(before: number): number {
    return this.remove.run(before).changes;
  }
}
