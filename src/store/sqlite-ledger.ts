import type { CommandLedger, LedgerInput, LedgerRecord } from '../commands/ledger.js';
import type { CommandResult } from '../commands/result.js';
import type { SqliteDatabase } from './database.js';

interface Row {
  scope: string;
  id: string;
  created_at: number;
  input: string;
  result: string | null;
}

function toRecord(row: Row): LedgerRecord {
  const record: LedgerRecord = { scope: row.scope, id: row.id, createdAt: row.created_at, input: JSON.parse(row.input) };
  if (row.result !== null) record.result = JSON.parse(row.result);
  return record;
}

export class SqliteLedger implements CommandLedger {
  private readonly insert;
  private readonly select;
  private readonly finish;
  private readonly open;
  private readonly remove;

  constructor(db: SqliteDatabase) {
    this.insert = db.prepare('INSERT OR IGNORE INTO command_ids (scope, id, created_at, input) VALUES (?, ?, ?, ?)');
    this.select = db.prepare<[string, string], Row>('SELECT scope, id, created_at, input, result FROM command_ids WHERE scope = ? AND id = ?');
    this.finish = db.prepare('UPDATE command_ids SET result = ?, finished_at = ? WHERE scope = ? AND id = ?');
    this.open = db.prepare<[], Row>('SELECT scope, id, created_at, input, result FROM command_ids WHERE result IS NULL ORDER BY created_at');
    this.remove = db.prepare('DELETE FROM command_ids WHERE created_at < ?');
  }

  claim(scope: string, id: string, createdAt: number, input: LedgerInput): LedgerRecord | undefined {
    // INSERT OR IGNORE is the atomic test-and-set: one row per (scope, id), whoever comes first.
    const { changes } = this.insert.run(scope, id, createdAt, JSON.stringify(input));
    if (changes === 1) return undefined;
    return toRecord(this.select.get(scope, id)!);
  }

  complete(scope: string, id: string, result: CommandResult): void {
    this.finish.run(JSON.stringify(result), result.timing.finished_at, scope, id);
  }

  get(scope: string, id: string): LedgerRecord | undefined {
    const row = this.select.get(scope, id);
    return row && toRecord(row);
  }

  unfinished(): LedgerRecord[] {
    return this.open.all().map(toRecord);
  }

  prune(before: number): number {
    return this.remove.run(before).changes;
  }
}
