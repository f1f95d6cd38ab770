// The audit journal: every command with its source, client, payload, result code and latency,
// every security decision, and every device event. Implementations: MemoryJournal here,
// SqliteJournal in src/store; both run the shared conformance suite in test/commands/journal-conformance.ts.

// lockout: a failed-login lockout started (src/broker/login-limiter.ts); its message says what was locked.
// event: a device event (door_forced, passage, snapshot, ...): its name in `event`, its fields as JSON in `payload`.
// session_expired: a persistent MQTT session removed by broker.limits.session_expiry_s.
// login: a technician logged in to the console (source console; refused ones are auth_failed).
// commissioning: a technician read a device's points now or pulsed one output (src/commissioning/): `command` read or pulse.
export const JOURNAL_TYPES = ['command', 'auth_failed', 'publish_denied', 'subscribe_denied', 'lockout', 'event', 'session_expired', 'login', 'commissioning'] as const;
export type JournalType = (typeof JOURNAL_TYPES)[number];

export interface JournalEntry {
  at: number;
  type: JournalType;
  kind?: string;
  device?: string;
  command?: string;
  command_id?: string;
  /** The device event's name (type `event` only), e.g. `door_forced`. */
  event?: string;
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
  /** Device events of this name (implies type `event`). */
  event?: string;
  device?: string;
  username?: string;
  /** Only entries appended after the one with this seq (a follower's cursor). */
  after?: number;
  /** Only entries appended before the one with this seq (a pager's cursor, going back). */
  before?: number;
  /** The newest `limit` matching entries (still returned oldest first). */
  limit?: number;
}

/** How much journal is kept: entries older than `before` go, and beyond the newest `maxRows` too. */
export interface JournalLimits {
  /** Epoch ms; entries with an earlier `at` are removed. */
  before: number;
  maxRows: number;
}

export interface Journal {
  append(entry: JournalEntry): void;
  /** Oldest first. */
  query(q: JournalQuery): JournalRecord[];
  /**
   * Remove up to `batch` entries outside `limits` (the oldest first) and return how many. A short
   * write, so a caller can spread a big prune over many event-loop turns: call again until it
   * returns less than `batch`. Without `batch`, removes everything outside the limits at once.
   */
  prune(limits: JournalLimits, batch?: number): number;
  /** About how many rows it holds, and the bytes of its store; absent for a store that cannot say. */
  size?(): { rows: number; bytes: number };
}

export function matchesQuery(e: JournalRecord, q: JournalQuery): boolean {
  return (
    (q.since === undefined || e.at >= q.since) &&
    (q.until === undefined || e.at <= q.until) &&
    (q.type === undefined || e.type === q.type) &&
    (q.event === undefined || (e.type === 'event' && e.event === q.event)) &&
    (q.device === undefined || e.device === q.device) &&
    (q.username === undefined || e.username === q.username) &&
    (q.after === undefined || e.seq > q.after) &&
    (q.before === undefined || e.seq < q.before)
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

  prune(limits: JournalLimits, batch = Infinity): number {
    // Entries are kept in seq order; those within maxRows seqs of the newest stay (as in SqliteJournal).
    const newestRemoved = (this.entries.at(-1)?.seq ?? 0) - limits.maxRows;
    let removed = 0;
    for (let i = 0; i < this.entries.length && removed < batch; ) {
      const e = this.entries[i];
      if (e.seq <= newestRemoved || e.at < limits.before) {
        this.entries.splice(i, 1);
        removed++;
      } else {
        i++;
      }
    }
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
