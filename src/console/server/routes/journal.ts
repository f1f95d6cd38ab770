// GET /api/journal (newest first, paged by a `before` cursor) and GET /api/journal.csv (the same
// filters, every matching row up to MAX_CSV_ROWS, written a page at a time).
import { JOURNAL_TYPES, type JournalQuery, type JournalRecord } from '../../../commands/journal.js';
import { csvLine } from '../csv.js';
import { sendError, sendJson } from '../headers.js';
import type { ConsoleServerParts } from '../parts.js';
import type { Route } from '../router.js';

const DEFAULT_LIMIT = 100;
const MAX_LIMIT = 500;
const CSV_PAGE = 1000;
const MAX_CSV_ROWS = 100_000;
const CSV_COLUMNS = ['seq', 'at', 'type', 'kind', 'device', 'command', 'command_id', 'event', 'source', 'client_id', 'username', 'peer', 'status', 'code', 'message', 'latency_ms', 'duplicate', 'payload'] as const;

type Filters = { query: Omit<JournalQuery, 'limit' | 'before'>; limit: number; before?: number };

function time(text: string | null, name: string): number | undefined | string {
  if (text === null || text === '') return undefined;
  if (/^\d+$/.test(text)) return Number(text);
  const at = Date.parse(text);
  return Number.isNaN(at) ? `${name} must be epoch milliseconds or an ISO 8601 time, got ${JSON.stringify(text)}` : at;
}

/** The filters of a journal request, or the problem with them. */
export function parseFilters(params: URLSearchParams): Filters | string {
  const query: Filters['query'] = {};
  const since = time(params.get('since'), 'since');
  const until = time(params.get('until'), 'until');
  if (typeof since === 'string') return since;
  if (typeof until === 'string') return until;
  if (since !== undefined) query.since = since;
  if (until !== undefined) query.until = until;
  const device = params.get('device');
  if (device) query.device = device;
  const user = params.get('user');
  if (user) query.username = user;
  const type = params.get('type');
  // A journal type, or the name of a device event (door_forced, passage, ...).
  if (type) (JOURNAL_TYPES as readonly string[]).includes(type) ? (query.type = type as JournalQuery['type']) : (query.event = type);
  const limitText = params.get('limit');
  const limit = limitText ? Number(limitText) : DEFAULT_LIMIT;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT) return `limit must be an integer from 1 to ${MAX_LIMIT}`;
  const beforeText = params.get('before');
  const before = beforeText ? Number(beforeText) : undefined;
  if (before !== undefined && (!Number.isSafeInteger(before) || before < 1)) return 'before must be a cursor from a previous page';
  return { query, limit, ...(before !== undefined ? { before } : {}) };
}

export function journalRoutes(parts: ConsoleServerParts): Route[] {
  const { deps } = parts;
  const page = (query: Filters['query'], limit: number, before?: number): JournalRecord[] =>
    deps.journal.query({ ...query, limit, ...(before !== undefined ? { before } : {}) }).reverse();
  return [
    {
      method: 'GET',
      path: '/api/journal',
      access: 'user',
      handler({ res, query }) {
        const filters = parseFilters(query);
        if (typeof filters === 'string') return sendError(res, 400, 'bad_request', filters);
        const rows = page(filters.query, filters.limit + 1, filters.before);
        const more = rows.length > filters.limit;
        const shown = rows.slice(0, filters.limit);
        sendJson(res, 200, { rows: shown, more, ...(more ? { next: shown[shown.length - 1].seq } : {}) });
      },
    },
    {
      method: 'GET',
      path: '/api/journal.csv',
      access: 'user',
      async handler({ res, query }) {
        const filters = parseFilters(query);
        if (typeof filters === 'string') return sendError(res, 400, 'bad_request', filters);
        res.statusCode = 200;
        res.setHeader('Content-Type', 'text/csv; charset=utf-8');
        res.setHeader('Cache-Control', 'no-store');
        res.setHeader('Content-Disposition', `attachment; filename="gatehouse-journal-${deps.config().site}.csv"`);
        res.write(csvLine(CSV_COLUMNS));
        let before = filters.before;
        let written = 0;
        while (written < MAX_CSV_ROWS) {
          const rows = page(filters.query, Math.min(CSV_PAGE, MAX_CSV_ROWS - written), before);
          for (const row of rows) {
            const cells = CSV_COLUMNS.map((c) => (c === 'at' ? new Date(row.at).toISOString() : (row as unknown as Record<string, unknown>)[c]));
            if (!res.write(csvLine(cells))) await new Promise((resolve) => res.once('drain', resolve));
          }
          written += rows.length;
          if (rows.length < CSV_PAGE) break;
          before = rows[rows.length - 1].seq;
        }
        res.end();
      },
    },
  ];
}
