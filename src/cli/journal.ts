import { JOURNAL_TYPES, type JournalQuery, type JournalRecord, type JournalType } from '../commands/journal.js';
import { openDatabase, type SqliteDatabase } from '../store/database.js';
import { SqliteJournal } from '../store/sqlite-journal.js';
import { describeFailedSearch, findDatabase } from './data-dir.js';
import { follow } from './journal-follow.js';
import { formatRecord } from './journal-format.js';
import type { CliCommand } from './index.js';

const UNITS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
/** Device event names, as drivers may declare them (drivers/serial-line/options.ts). */
const EVENT_NAME = /^[a-z][a-z0-9_]{0,63}$/;
/** With --follow and neither --since nor --limit, the entries printed before the new ones (tail -f prints 10 lines). */
const FOLLOW_BACKLOG = 10;

/** `15m`, `2h`, `7d` (ago), an epoch in ms, or an ISO 8601 date-time. */
export function parseTime(text: string, now = Date.now()): number | undefined {
  const relative = /^(\d+)([smhd])$/.exec(text);
  if (relative) return now - Number(relative[1]) * UNITS[relative[2]];
  if (/^\d{10,}$/.test(text)) return Number(text);
  const parsed = Date.parse(text);
  return Number.isNaN(parsed) ? undefined : parsed;
}

/** `--type`: a journal type, or the name of a device event (entries of type `event` with that name). */
function typeFilter(text: string): Pick<JournalQuery, 'type' | 'event'> | undefined {
  if ((JOURNAL_TYPES as readonly string[]).includes(text)) return { type: text as JournalType };
  if (EVENT_NAME.test(text)) return { event: text };
  return undefined;
}

function openReadOnly(dataDir: string): SqliteDatabase | string {
  try {
    return openDatabase(dataDir, { readonly: true });
  } catch (err) {
    return (err as Error).message;
  }
}

export const journal: CliCommand = {
  async run(values) {
    const problems: string[] = [];
    const since = values.since === undefined ? undefined : parseTime(values.since as string);
    const until = values.until === undefined ? undefined : parseTime(values.until as string);
    if (values.since !== undefined && since === undefined) problems.push(`--since ${values.since}: not a time (use 2026-11-23T10:00, an epoch in ms, or 15m / 2h / 7d)`);
    if (values.until !== undefined && until === undefined) problems.push(`--until ${values.until}: not a time`);
    const byType = values.type === undefined ? {} : typeFilter(values.type as string);
    if (byType === undefined) problems.push(`--type must be one of ${JOURNAL_TYPES.join(', ')}, or a device event name such as door_forced (a-z, 0-9, _)`);
    const limit = values.limit === undefined ? undefined : Number(values.limit);
    if (limit !== undefined && !(Number.isInteger(limit) && limit > 0)) problems.push('--limit must be a positive integer');
    if (values.follow && values.until !== undefined) problems.push('--follow prints entries as they come; it does not go with --until');
    if (problems.length > 0) {
      process.stderr.write(problems.map((p) => `gatehouse journal: ${p}\n`).join(''));
      return 2;
    }

    const search = await findDatabase({ dataDir: values['data-dir'] as string | undefined, config: values.config as string | undefined, env: process.env, cwd: process.cwd() });
    if (!search.ok) {
      process.stderr.write(`gatehouse journal: ${describeFailedSearch(search)}\n`);
      return 2;
    }
    if (values['data-dir'] === undefined) process.stderr.write(`journal of ${search.file} (${search.from})\n`);
    const db = openReadOnly(search.dataDir);
    if (typeof db === 'string') {
      process.stderr.write(`gatehouse journal: ${db}\n`);
      return 1;
    }
    const filter: JournalQuery = { since, until, ...byType, device: values.device as string | undefined };
    const print = (r: JournalRecord) => void process.stdout.write((values.json ? JSON.stringify(r) : formatRecord(r)) + '\n');
    try {
      if (values.follow) return await followJournal(db, filter, { ...filter, limit: limit ?? (since === undefined ? FOLLOW_BACKLOG : undefined) }, print);
      const reader = new SqliteJournal(db);
      const records = reader.query({ ...filter, limit });
      records.forEach(print);
      if (!values.json) process.stderr.write(`${records.length} entr${records.length === 1 ? 'y' : 'ies'}\n`);
      if (records.length === 0 && filter.event !== undefined) {
        const held = reader.eventNames();
        if (!held.includes(filter.event)) process.stderr.write(`no ${filter.event} event in this journal; the events it holds: ${held.length ? held.join(', ') : 'none'}\n`);
      }
      return 0;
    } finally {
      db.close();
    }
  },
};

async function followJournal(db: SqliteDatabase, filter: JournalQuery, backlog: JournalQuery, print: (r: JournalRecord) => void): Promise<number> {
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  // A closed pipe (`... --follow | head`) ends the follow instead of crashing on EPIPE.
  const onStdoutError = () => stop.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  process.stdout.on('error', onStdoutError);
  try {
    await follow(db, { backlog, filter, print, signal: stop.signal });
    return 0;
  } catch (err) {
    process.stderr.write(`gatehouse journal: stopped following: ${(err as Error).message}\n`);
    return 1;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    process.stdout.off('error', onStdoutError);
  }
}
