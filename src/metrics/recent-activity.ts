// The last device events and security refusals, in memory and bounded, for /status.json and so
// for `gatehouse status`: a technician sees at once why a client was refused. The audit journal
// keeps the full record; this is only the latest few of each.

/** A fixed number of the newest items; the oldest goes when a new one comes. */
export class RingBuffer<T> {
  private readonly slots: T[] = [];
  private next = 0;

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`ring buffer capacity must be a positive integer, got ${capacity}`);
  }

  push(item: T): void {
    if (this.slots.length < this.capacity) this.slots.push(item);
    else this.slots[this.next] = item;
    this.next = (this.next + 1) % this.capacity;
  }

  /** Oldest first. */
  items(): T[] {
    return this.slots.length < this.capacity ? [...this.slots] : [...this.slots.slice(this.next), ...this.slots.slice(0, this.next)];
  }
}

export interface RecentEvent {
  at: number;
  kind: string;
  device: string;
  event: string;
  details: Record<string, unknown>;
}

/** What the broker reports of a refusal (src/broker/broker.ts SecurityEvent), as journalled. */
export interface RefusalReport {
  type: string;
  clientId: string;
  username?: string;
  peer: string;
  protocol?: string;
  topic?: string;
  reason: string;
}

export interface RecentRefusal {
  at: number;
  /** auth_failed, publish_denied, subscribe_denied or lockout: the journal's type. */
  type: string;
  client_id: string;
  username?: string;
  peer: string;
  protocol?: string;
  topic?: string;
  reason: string;
}

export const RECENT_CAPACITY = 50;
/** An event's details are shown, not stored: larger ones are cut down to their scalar fields. */
const MAX_DETAILS_CHARS = 1024;

function boundedDetails(details: Record<string, unknown>): Record<string, unknown> {
  try {
    if (JSON.stringify(details).length <= MAX_DETAILS_CHARS) return { ...details };
  } catch {
    // not serialisable: keep the scalars below
  }
  const scalars: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(details)) {
    if (typeof value === 'number' || typeof value === 'boolean' || (typeof value === 'string' && value.length <= 200)) scalars[key] = value;
  }
  return scalars;
}

export class RecentActivity {
  private readonly recentEvents: RingBuffer<RecentEvent>;
  private readonly recentRefusals: RingBuffer<RecentRefusal>;

  constructor(
    capacity = RECENT_CAPACITY,
    private readonly now: () => number = Date.now,
  ) {
    this.recentEvents = new RingBuffer(capacity);
    this.recentRefusals = new RingBuffer(capacity);
  }

  event(kind: string, device: string, event: string, details: Record<string, unknown>, at = this.now()): void {
    this.recentEvents.push({ at, kind, device, event, details: boundedDetails(details) });
  }

  refusal(report: RefusalReport): void {
    const { type, clientId, username, peer, protocol, topic, reason } = report;
    this.recentRefusals.push({
      at: this.now(),
      type,
      client_id: clientId,
      ...(username !== undefined ? { username } : {}),
      peer,
      ...(protocol !== undefined ? { protocol } : {}),
      ...(topic !== undefined ? { topic } : {}),
      reason,
    });
  }

  /** Oldest first. */
  events(): RecentEvent[] {
    return this.recentEvents.items();
  }

  /** Oldest first. */
  refusals(): RecentRefusal[] {
    return this.recentRefusals.items();
  }
}
