import { existsSync } from 'node:fs';
import { JOURNAL_TYPES, type JournalRecord, type JournalType } from '../commands/journal.js';
import { databasePath, openDatabase } from '../store/database.js';
import { SqliteJournal } from '../store/sqlite-journal.js';
import type { CliCommand } from './index.js';

const UNITS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `15m`, `2h`, `7d` (ago), an epoch in ms, or an ISO 8601 date-time. */
export function parseTime(text: string, now = Date.now()): number | undefined {
  const relative = /^(\d+)([smhd])$/.exec(text);
  if (relative) return now - Number(relative[1]) * UNITS[relative[2]];
  if (/^\d{10,}$/.test(text)) return Number(text);
  const parsed = Date.parse(text);
  return Number.isNaN(parsed) ? undefined : parsed;
}

function formatRecord(r: JournalRecord): string {
  const when = new Date(r.at).toISOString();
  const who = [r.source, r.username ?? (r.client_id ? `client ${r.client_id}` : undefined), r.peer].filter(Boolean).join(' ');
  if (r.type !== 'command') return `${when}  ${r.type.padEnd(16)} ${who}  ${r.payload ?? ''}  ${r.message ?? ''}`;
  const outcome = r.status === 'ok' ? 'ok' : `error ${r.code}`;
  return `${when}  ${`${r.kind}/${r.device}`.padEnd(24)} ${(r.command ?? '').padEnd(8)} ${outcome.padEnd(20)} ${String(r.latency_ms ?? '').padStart(5)} ms  id=${r.command_id}${r.duplicate ? ' (duplicate)' : ''}  ${who}${r.status === 'ok' ? '' : `  ${r.message}`}`;
}

export const journal: CliCommand = {
  options: {
    'data-dir': { type: 'string' },
    since: { type: 'string' },
    until: { type: 'string' },
    type: { type: 'string' },
    device: { type: 'string' },
    limit: { type: 'string' },
    json: { type: 'boolean' },
  },
  async run(values) {
    const dataDir = (values['data-dir'] as string | undefined) ?? process.env.GATEHOUSE_DATA_DIR ?? './data';
    const problems: string[] = [];
    const since = values.since === undefined ? undefined : parseTime(values.since as string);
    const until = values.until === undefined ? undefined : parseTime(values.until as string);
    if (values.since !== undefined && since === undefined) problems.push(`--since ${values.since}: not a time (use 2026-11-23T10:00, an epoch in ms, or 15m / 2h / 7d)`);
    if (values.until !== undefined && until === undefined) problems.push(`--until ${values.until}: not a time`);
    if (values.type !== undefined && !JOURNAL_TYPES.includes(values.type as JournalType)) problems.push(`--type must be one of ${JOURNAL_TYPES.join(', ')}`);
    const limit = values.limit === undefined ? undefined : Number(values.limit);
    if (limit !== undefined && !(Number.isInteger(limit) && limit > 0)) problems.push('--limit must be a positive integer');
    if (!existsSync(databasePath(dataDir))) problems.push(`no gatehouse database in ${dataDir} (expected ${databasePath(dataDir)}); pass --data-dir`);
    if (problems.length > 0) {
      process.stderr.write(problems.map((p) => `gatehouse journal: ${p}\n`).join(''));
      return 2;
    }
    const db = openDatabase(dataDir, { readonly: true });
    try {
      const records = new SqliteJournal(db).query({ since, until, type: values.type as JournalType | undefined, device: values.device as string | undefined, limit });
      for (const r of records) process.stdout.write((values.json ? JSON.stringify(r) : formatRecord(r)) + '\n');
      if (!values.json) process.stderr.write(`${records.length} entr${records.length === 1 ? 'y' : 'ies'}\n`);
    } finally {
      db.close();
    }
    return 0;
  },
};
