import type { JournalQuery, JournalRecord } from '../commands/journal.js';
import type { SqliteDatabase } from '../store/database.js';
import { SqliteJournal } from '../store/sqlite-journal.js';

// `gatehouse journal --follow`: like `tail -f`, the entries appended from now on, read by polling
// the database read-only (WAL: the running gateway is never blocked) by seq, until SIGINT or SIGTERM.

export const FOLLOW_POLL_MS = 200;

export interface Page {
  records: JournalRecord[];
  /** The newest seq in the journal when the page was read: the next page starts after it. */
  cursor: number;
}

/**
 * The matching entries after `cursor`, and the new cursor, from one read snapshot, so an entry
 * appended meanwhile is in this page or the next, never skipped. Entries that do not match the
 * filter are stepped over once, not read again at every poll.
 */
export function readPage(db: SqliteDatabase, journal: SqliteJournal, filter: JournalQuery, cursor: number | undefined): Page {
  return db.transaction(() => {
    const records = journal.query({ ...filter, ...(cursor === undefined ? {} : { after: cursor }) });
    return { records, cursor: journal.latestSeq() };
  })();
}

/**
 * Prints the first page (`backlog`), then every new page until `signal` aborts; resolves then.
 * Rejects if the database cannot be read any more.
 */
export async function follow(
  db: SqliteDatabase,
  opts: { backlog: JournalQuery; filter: JournalQuery; print: (r: JournalRecord) => void; signal: AbortSignal; pollMs?: number },
): Promise<void> {
  const journal = new SqliteJournal(db);
  const first = readPage(db, journal, opts.backlog, undefined);
  first.records.forEach(opts.print);
  let cursor = first.cursor;
  if (opts.signal.aborted) return;
  await new Promise<void>((resolve, reject) => {
    const stop = (err?: unknown) => {
      clearInterval(timer);
      opts.signal.removeEventListener('abort', onAbort);
      if (err === undefined) resolve();
      else reject(err);
    };
    const onAbort = () => stop();
    const timer = setInterval(() => {
      try {
        const page = readPage(db, journal, opts.filter, cursor);
        page.records.forEach(opts.print);
        cursor = page.cursor;
      } catch (err) {
        stop(err);
      }
    }, opts.pollMs ?? FOLLOW_POLL_MS);
    opts.signal.addEventListener('abort', onAbort);
  });
}
