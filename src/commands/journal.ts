// The audit journal: every command with its source, client, payload, result code and latency,
// and every security decision. Implementations: MemoryJournal here, SqliteJournal in src/store;
// both run the shared conformance suite in test/commands/journal-conformance.ts.

// lockout: a failed-login lockout started (src/broker/login-limiter.ts); its message says what was locked.
// session_expired: a persistent MQTT session removed by broker.limits.session_expiry_s.
export const JOURNAL_TYPES = ['command', 'auth_failed', 'publish_denied', 'subscribe_denied', 'lockout', 'session_expired'] as const;
export type JournalType = (typeof JOURNAL_TYPES)[number];

export interface JournalEntry {
  at: number;
  type: JournalType;
  kind?: string;
  device?: string;
  command?: string;
  command_id?: string;
  source?: string;
  client_id?: string;
  username?: string;
  peer?: string;
  payload?: string;
  status?: 'ok' | 'error';
  code?: string;
  message?: string;
  latency_ms?: number;
  duplicate?: boolean;
}

export interface JournalRecord extends JournalEntry {
  seq: number;
}

export interface JournalQuery {
  since?: number;
  until?: number;
  type?: JournalType;
  device?: string;
  limit?: number;
}

export interface Journal {
  append(entry: JournalEntry): void;
  /** Oldest first. */
  query(q: JournalQuery): JournalRecord[];
  /** Forget entries older than `before`. Returns how many. */
  prune(before: number): number;
}

export function matchesQuery(e: JournalEntry, q: JournalQuery): boolean {
  return (
    (q.since === undefined || e.at >= q.since) &&
    (q.until === undefined || e.at <= q.until) &&
    (q.type === undefined || e.type === q.type) &&
    (q.device === undefined || e.device === q.device)
  );
}

export class MemoryJournal implements Journal {
  private readonly entries: JournalRecord[] = [];
  private seq = 0;

  append(entry: JournalEntry): void {
    this.entries.push({ ...entry, seq: ++this.seq });
  }

  query(q: JournalQuery): JournalRecord[] {
    const hits = this.entries.filter((e) => matchesQuery(e, q));
    return (q.limit === undefined ? hits : hits.slice(-q.limit)).map((e) => ({ ...e }));
  }

  prune(before: number): number {
    const keep = this.entries.filter((e) => e.at >= before);
    const removed = this.entries.length - keep.length;
    this.entries.splice(0, this.entries.length, ...keep);
    return removed;
  }
}

/** Payloads are journaled as text; bytes that are not UTF-8 are kept as hex so nothing is lost. */
export function payloadForJournal(payload: Uint8Array, max = 4096): string {
  const clipped = payload.subarray(0, max);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(clipped);
  } catch {
    text = `hex:${Buffer.from(clipped).toString('hex')}`;
  }
  return payload.length > max ? `${text}…(${payload.length} bytes)` : text;
}
