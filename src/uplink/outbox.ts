// The outbox: everything bound for the cloud is committed here before it is sent, and deleted
// only after the PUBACK of that very message (DESIGN.md section 1, issue 3). Implementations:
// MemoryOutbox here, SqliteOutbox in src/store; both run the shared conformance suite in
// test/uplink/outbox-conformance.ts.
//
// Send order: pending retained messages first (at most one per topic: a new retained value
// supersedes the pending older one), then everything else in the order it was appended. Messages
// of one topic therefore leave in the order they were produced, and the current retained picture
// overtakes a long backlog of events.

export const MESSAGE_CLASSES = ['retained', 'result', 'security', 'telemetry'] as const;
/**
 * retained: state, availability, gateway state, retained forwarded topics.
 * result: command results. security: events such as door_forced. telemetry: everything else.
 */
export type MessageClass = (typeof MESSAGE_CLASSES)[number];

/**
 * At the limits, the oldest pending message of the first group that has one is dropped:
 * telemetry, then retained values (devices' are re-published at every connect anyway), and
 * results and security events only when nothing else is left.
 */
export const DROP_ORDER: readonly (readonly MessageClass[])[] = [['telemetry'], ['retained'], ['result', 'security']];

export interface OutboxMessage {
  topic: string;
  payload: Buffer;
  /** 'retained' exactly when the message is published with the RETAIN flag. */
  class: MessageClass;
  /** When it was produced, epoch ms. */
  createdAt: number;
}

export interface QueuedMessage extends OutboxMessage {
  seq: number;
}

export interface OutboxLimits {
  maxMessages: number;
  maxBytes: number;
}

export interface AppendOutcome {
  /** Rows written (some may have been dropped again by the bounds in the same call). */
  appended: number;
  /** Older pending retained rows replaced by a newer value of their topic. */
  superseded: number;
  /** Rows dropped by the bounds, including messages dropped on arrival. */
  dropped: number;
}

export type ClassCounts = Record<MessageClass, number>;

/** Drops not yet announced upstream with an `outbox_overflow` event. */
export interface OverflowReport {
  total: number;
  byClass: ClassCounts;
  /** createdAt of the oldest and newest dropped message: the span of time that lost messages. */
  firstAt: number;
  lastAt: number;
}

export interface OutboxStats {
  depth: number;
  bytes: number;
  /** createdAt of the oldest row, undefined when empty. */
  oldestAt?: number;
  inFlight: number;
  byClass: ClassCounts;
  /** Every drop since the database was created. */
  dropped: ClassCounts;
}

export interface Outbox {
  /** Commits the messages durably, in order, before returning; applies supersede and the bounds. */
  append(messages: readonly OutboxMessage[]): AppendOutcome;
  /** Up to `limit` pending rows in send order; each is in flight until ack() or release(). */
  take(limit: number): QueuedMessage[];
  /** Deletes exactly these rows (their PUBACK arrived). Unknown seqs are ignored. Returns how many were deleted. */
  ack(seqs: readonly number[]): number;
  /** The link went down: every in-flight row is pending again; in-flight retained rows superseded meanwhile are deleted. */
  release(): void;
  /** Deletes the pending (not in-flight) retained rows of these topics, whose newest value was just sent another way. */
  supersedeRetained(topics: Iterable<string>): number;
  stats(): OutboxStats;
  overflow(): OverflowReport | undefined;
  /** The report's drops were announced: forget them (drops counted since stay unreported). */
  overflowReported(report: OverflowReport): void;
}

export function zeroCounts(): ClassCounts {
  return { retained: 0, result: 0, security: 0, telemetry: 0 };
}

/** What a message costs against `maxBytes`: topic and payload bytes. */
export function messageBytes(m: Pick<OutboxMessage, 'topic' | 'payload'>): number {
  return Buffer.byteLength(m.topic, 'utf8') + m.payload.length;
}

/** Tallies drops per class with the span of their production times. */
export class DropTally {
  readonly byClass = zeroCounts();
  total = 0;
  firstAt = Infinity;
  lastAt = -Infinity;

  add(cls: MessageClass, createdAt: number): void {
    this.addSpan(cls, 1, createdAt, createdAt);
  }

  addSpan(cls: MessageClass, count: number, firstAt: number, lastAt: number): void {
    this.byClass[cls] += count;
    this.total += count;
    this.firstAt = Math.min(this.firstAt, firstAt);
    this.lastAt = Math.max(this.lastAt, lastAt);
  }

  merge(other: DropTally): void {
    for (const cls of MESSAGE_CLASSES) this.byClass[cls] += other.byClass[cls];
    this.total += other.total;
    this.firstAt = Math.min(this.firstAt, other.firstAt);
    this.lastAt = Math.max(this.lastAt, other.lastAt);
  }

  report(): OverflowReport | undefined {
    if (this.total === 0) return undefined;
    return { total: this.total, byClass: { ...this.byClass }, firstAt: this.firstAt, lastAt: this.lastAt };
  }

  reset(): void {
    for (const cls of MESSAGE_CLASSES) this.byClass[cls] = 0;
    this.total = 0;
    this.firstAt = Infinity;
    this.lastAt = -Infinity;
  }

  /** Subtract an announced report; the span stays as it was while drops remain. */
  subtract(report: OverflowReport): void {
    for (const cls of MESSAGE_CLASSES) this.byClass[cls] = Math.max(0, this.byClass[cls] - report.byClass[cls]);
    this.total = MESSAGE_CLASSES.reduce((sum, cls) => sum + this.byClass[cls], 0);
    if (this.total === 0) this.reset();
  }
}

interface MemoryRow extends QueuedMessage {
  bytes: number;
}

/** The in-memory outbox: the reference for the conformance suite, and enough for tests of the link. */
export class MemoryOutbox implements Outbox {
  private seq = 0;
  /** Map iteration follows insertion, which is seq order. */
  private readonly retainedRows = new Map<number, MemoryRow>();
  private readonly otherRows = new Map<number, MemoryRow>();
  private readonly inFlight = new Set<number>();
  private readonly pendingRetained = new Map<string, number>();
  private readonly counts = zeroCounts();
  private bytes = 0;
  private readonly totalDrops = zeroCounts();
  private readonly unreported = new DropTally();

  constructor(private readonly limits: OutboxLimits) {}

  append(messages: readonly OutboxMessage[]): AppendOutcome {
    const outcome: AppendOutcome = { appended: 0, superseded: 0, dropped: 0 };
    for (const m of messages) {
      const bytes = messageBytes(m);
      if (bytes > this.limits.maxBytes) {
        this.tallyDrop(m.class, m.createdAt);
        outcome.dropped++;
        continue;
      }
      if (m.class === 'retained') {
        const older = this.pendingRetained.get(m.topic);
        if (older !== undefined && this.remove(older)) outcome.superseded++;
      }
      const row: MemoryRow = { seq: ++this.seq, topic: m.topic, payload: Buffer.from(m.payload), class: m.class, createdAt: m.createdAt, bytes };
      (m.class === 'retained' ? this.retainedRows : this.otherRows).set(row.seq, row);
      if (m.class === 'retained') this.pendingRetained.set(m.topic, row.seq);
      this.counts[m.class]++;
      this.bytes += bytes;
      outcome.appended++;
    }
    outcome.dropped += this.enforceLimits();
    return outcome;
  }

  take(limit: number): QueuedMessage[] {
    const taken: QueuedMessage[] = [];
    for (const lane of [this.retainedRows, this.otherRows]) {
      for (const row of lane.values()) {
        if (taken.length >= limit) break;
        if (this.inFlight.has(row.seq)) continue;
        this.inFlight.add(row.seq);
        if (row.class === 'retained' && this.pendingRetained.get(row.topic) === row.seq) this.pendingRetained.delete(row.topic);
        taken.push(copy(row));
      }
    }
    return taken;
  }

  ack(seqs: readonly number[]): number {
    let deleted = 0;
    for (const seq of seqs) if (this.remove(seq)) deleted++;
    return deleted;
  }

  release(): void {
    // Per topic only the newest retained row stays, whether it was pending or in flight.
    for (const seq of [...this.inFlight].sort((a, b) => a - b)) {
      this.inFlight.delete(seq);
      const row = this.retainedRows.get(seq);
      if (!row) continue;
      const other = this.pendingRetained.get(row.topic);
      if (other !== undefined && other > seq) {
        this.remove(seq);
        continue;
      }
      if (other !== undefined) this.remove(other);
      this.pendingRetained.set(row.topic, seq);
    }
  }

  supersedeRetained(topics: Iterable<string>): number {
    let deleted = 0;
    for (const topic of topics) {
      const seq = this.pendingRetained.get(topic);
      if (seq !== undefined && this.remove(seq)) deleted++;
    }
    return deleted;
  }

  stats(): OutboxStats {
    const first = [this.retainedRows.values().next().value, this.otherRows.values().next().value].filter((r): r is MemoryRow => r !== undefined);
    const oldest = first.sort((a, b) => a.seq - b.seq)[0];
    return {
      depth: this.retainedRows.size + this.otherRows.size,
      bytes: this.bytes,
      ...(oldest ? { oldestAt: oldest.createdAt } : {}),
      inFlight: this.inFlight.size,
      byClass: { ...this.counts },
      dropped: { ...this.totalDrops },
    };
  }

  overflow(): OverflowReport | undefined {
    return this.unreported.report();
  }

  overflowReported(report: OverflowReport): void {
    this.unreported.subtract(report);
  }

  private remove(seq: number): MemoryRow | undefined {
    const row = this.retainedRows.get(seq) ?? this.otherRows.get(seq);
    if (!row) return undefined;
    (row.class === 'retained' ? this.retainedRows : this.otherRows).delete(seq);
    this.inFlight.delete(seq);
    if (row.class === 'retained' && this.pendingRetained.get(row.topic) === seq) this.pendingRetained.delete(row.topic);
    this.counts[row.class]--;
    this.bytes -= row.bytes;
    return row;
  }

  private over(): boolean {
    return this.retainedRows.size + this.otherRows.size > this.limits.maxMessages || this.bytes > this.limits.maxBytes;
  }

  private enforceLimits(): number {
    let dropped = 0;
    for (const group of DROP_ORDER) {
      const lane = group.includes('retained') ? this.retainedRows : this.otherRows;
      for (const row of [...lane.values()]) {
        if (!this.over()) return dropped;
        if (!group.includes(row.class) || this.inFlight.has(row.seq)) continue;
        this.remove(row.seq);
        this.tallyDrop(row.class, row.createdAt);
        dropped++;
      }
    }
    return dropped;
  }

  private tallyDrop(cls: MessageClass, createdAt: number): void {
    this.totalDrops[cls]++;
    this.unreported.add(cls, createdAt);
  }
}

function copy(row: MemoryRow): QueuedMessage {
  return { seq: row.seq, topic: row.topic, payload: Buffer.from(row.payload), class: row.class, createdAt: row.createdAt };
}
