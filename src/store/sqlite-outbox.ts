import {
  DROP_ORDER,
  DropTally,
  MESSAGE_CLASSES,
  messageBytes,
  zeroCounts,
  type AppendOutcome,
  type ClassCounts,
  type MessageClass,
  type Outbox,
  type OutboxLimits,
  type OutboxMessage,
  type OutboxStats,
  type OverflowReport,
  type QueuedMessage,
} from '../uplink/outbox.js';
import type { Statement } from 'better-sqlite3';
import type { SqliteDatabase } from './database.js';
import { SYNCHRONOUS, synchronousLevel, withSynchronous } from './synchronous.js';

// The outbox in the gateway's database (table `outbox`, migration 2). What is in flight lives in
// memory only: after a restart every row is pending again. Rows are taken from the front of two
// lanes (retained, everything else), so a cursor per lane separates in-flight rows (at or below
// it) from pending ones (above it) without writing anything per send.

const CLASS_CODE: Record<MessageClass, number> = { retained: 0, result: 1, security: 2, telemetry: 3 };
const CODE_CLASS: MessageClass[] = ['retained', 'result', 'security', 'telemetry'];
const RETAINED = CLASS_CODE.retained;
const VICTIM_BATCH = 64;
const READ_AHEAD = 256;
const DELETE_CHUNK = 100;

/**
 * PRAGMA synchronous for the outbox's own writes (appends and supersedes). FULL: a message is on
 * disk when append() returns. NORMAL (in WAL mode): the last commits before a power cut may be
 * lost, never corrupted.
 */
export type OutboxSynchronous = 'FULL' | 'NORMAL';

export interface SqliteOutboxOptions {
  limits: OutboxLimits;
  synchronous?: OutboxSynchronous;
  /**
   * PRAGMA synchronous for deleting acknowledged rows. A delete lost to a power cut only means
   * that message is sent again; NORMAL saves an fsync per batch of acknowledgements.
   */
  ackSynchronous?: OutboxSynchronous;
}

interface Row {
  seq: number;
  created_at: number;
  class: number;
  topic: string;
  payload: Buffer;
}

interface Removed {
  class: number;
  bytes: number;
  topic: string;
  created_at: number;
}

export class SqliteOutbox implements Outbox {
  private readonly counts = zeroCounts();
  private bytes = 0;
  private readonly totalDrops = zeroCounts();
  private readonly unreported = new DropTally();
  /** Per retained topic, its pending (not in-flight) row. */
  private readonly pendingRetained = new Map<string, number>();
  /** In-flight retained rows: seq to topic (other in-flight rows need no bookkeeping). */
  private readonly inFlightRetained = new Map<number, string>();
  private inFlightCount = 0;
  private readAhead: Row[] = [];
  private readonly deleteStatements = new Map<number, Statement<number[], Removed & { seq: number }>>();
  private retainedCursor = 0;
  private otherCursor = 0;
  private readonly baseSync: number;

  private readonly stmt;

  constructor(
    private readonly db: SqliteDatabase,
    private readonly opts: SqliteOutboxOptions,
  ) {
    this.stmt = {
      insert: db.prepare('INSERT INTO outbox (created_at, class, topic, payload, bytes) VALUES (?, ?, ?, ?, ?)'),
      remove: db.prepare<[number], Removed>('DELETE FROM outbox WHERE seq = ? RETURNING class, bytes, topic, created_at'),
      retainedLane: db.prepare<[number, number], Row>('SELECT seq, created_at, class, topic, payload FROM outbox WHERE class = 0 AND seq > ? ORDER BY seq LIMIT ?'),
      otherLane: db.prepare<[number, number], Row>('SELECT seq, created_at, class, topic, payload FROM outbox WHERE seq > ? AND class != 0 ORDER BY seq LIMIT ?'),
      oldest: db.prepare<[], { created_at: number }>('SELECT created_at FROM outbox ORDER BY seq LIMIT 1'),
      victims: new Map<string, Statement<[number, number], { seq: number }>>(),
      drop: db.prepare(
        `INSERT INTO outbox_drops (class, total, unreported, first_at, last_at) VALUES (@class, @count, @count, @first, @last)
         ON CONFLICT(class) DO UPDATE SET total = total + @count, unreported = unreported + @count,
           first_at = CASE WHEN unreported = 0 OR first_at IS NULL THEN @first ELSE min(first_at, @first) END,
           last_at = CASE WHEN unreported = 0 OR last_at IS NULL THEN @last ELSE max(last_at, @last) END`,
      ),
      reported: db.prepare('UPDATE outbox_drops SET unreported = max(0, unreported - ?) WHERE class = ?'),
    };
    for (const group of DROP_ORDER) {
      const codes = group.map((c) => CLASS_CODE[c]).join(', ');
      this.stmt.victims.set(group.join(','), db.prepare<[number, number], { seq: number }>(`SELECT seq FROM outbox WHERE class IN (${codes}) AND seq > ? ORDER BY seq LIMIT ?`));
    }
    this.baseSync = synchronousLevel(db);
    this.load();
  }

  append(messages: readonly OutboxMessage[]): AppendOutcome {
    const outcome: AppendOutcome = { appended: 0, superseded: 0, dropped: 0 };
    const drops = new DropTally();
    this.write(this.opts.synchronous ?? 'FULL', () => {
      for (const m of messages) {
        const bytes = messageBytes(m);
        if (bytes > this.opts.limits.maxBytes) {
          drops.add(m.class, m.createdAt);
          continue;
        }
        if (m.class === 'retained') {
          const older = this.pendingRetained.get(m.topic);
          if (older !== undefined && this.remove(older)) outcome.superseded++;
        }
        const { lastInsertRowid } = this.stmt.insert.run(m.createdAt, CLASS_CODE[m.class], m.topic, m.payload, bytes);
        if (m.class === 'retained') this.pendingRetained.set(m.topic, Number(lastInsertRowid));
        this.counts[m.class]++;
        this.bytes += bytes;
        outcome.appended++;
      }
      this.enforceLimits(drops);
      this.recordDrops(drops);
    });
    outcome.dropped = drops.total;
    return outcome;
  }

  take(limit: number): QueuedMessage[] {
    if (limit <= 0) return [];
    // pendingRetained lists every pending retained row, so an empty map saves the query.
    const rows = this.pendingRetained.size > 0 ? this.stmt.retainedLane.all(this.retainedCursor, limit) : [];
    if (rows.length < limit) rows.push(...this.takeOther(limit - rows.length));
    const taken: QueuedMessage[] = [];
    for (const row of rows) {
      const cls = CODE_CLASS[row.class];
      if (row.class === RETAINED) {
        this.retainedCursor = row.seq;
        this.inFlightRetained.set(row.seq, row.topic);
        if (this.pendingRetained.get(row.topic) === row.seq) this.pendingRetained.delete(row.topic);
      } else {
        this.otherCursor = row.seq;
      }
      this.inFlightCount++;
      taken.push({ seq: row.seq, topic: row.topic, payload: row.payload, class: cls, createdAt: row.created_at });
    }
    return taken;
  }

  ack(seqs: readonly number[]): number {
    if (seqs.length === 0) return 0;
    let deleted = 0;
    this.write(this.opts.ackSynchronous ?? this.opts.synchronous ?? 'FULL', () => {
      for (let i = 0; i < seqs.length; i += DELETE_CHUNK) {
        const chunk = seqs.slice(i, i + DELETE_CHUNK);
        for (const removed of this.deleteMany(chunk.length).all(...chunk)) {
          this.forget(removed);
          deleted++;
        }
      }
    });
    return deleted;
  }

  /**
   * Rows of the non-retained lane after the cursor, read ahead in pages: a drain then costs one
   * query per page instead of one per window. The page is a run of rows in seq order starting at
   * the cursor; anything that deletes a pending row of this lane discards it.
   */
  private takeOther(limit: number): Row[] {
    if (this.readAhead.length < limit) {
      const after = this.readAhead.length > 0 ? this.readAhead[this.readAhead.length - 1].seq : this.otherCursor;
      this.readAhead.push(...this.stmt.otherLane.all(after, Math.max(READ_AHEAD, limit - this.readAhead.length)));
    }
    return this.readAhead.splice(0, limit);
  }

  private deleteMany(count: number) {
    let statement = this.deleteStatements.get(count);
    if (!statement) {
      statement = this.db.prepare<number[], Removed & { seq: number }>(
        `DELETE FROM outbox WHERE seq IN (${new Array(count).fill('?').join(', ')}) RETURNING seq, class, bytes, topic, created_at`,
      );
      this.deleteStatements.set(count, statement);
    }
    return statement;
  }

  release(): void {
    // Per topic only the newest retained row stays, whether it was pending or in flight.
    const superseded: number[] = [];
    for (const [seq, topic] of [...this.inFlightRetained].sort((a, b) => a[0] - b[0])) {
      const other = this.pendingRetained.get(topic);
      if (other !== undefined && other > seq) {
        superseded.push(seq);
        continue;
      }
      if (other !== undefined) superseded.push(other);
      this.pendingRetained.set(topic, seq);
    }
    this.inFlightRetained.clear();
    this.inFlightCount = 0;
    this.retainedCursor = 0;
    this.otherCursor = 0;
    this.readAhead = [];
    if (superseded.length > 0) this.write(this.opts.synchronous ?? 'FULL', () => superseded.forEach((seq) => this.remove(seq)));
  }

  supersedeRetained(topics: Iterable<string>): number {
    const seqs: number[] = [];
    for (const topic of topics) {
      const seq = this.pendingRetained.get(topic);
      if (seq !== undefined) seqs.push(seq);
    }
    if (seqs.length === 0) return 0;
    let deleted = 0;
    this.write(this.opts.synchronous ?? 'FULL', () => {
      for (const seq of seqs) if (this.remove(seq)) deleted++;
    });
    return deleted;
  }

  stats(): OutboxStats {
    const oldest = this.stmt.oldest.get();
    return {
      depth: MESSAGE_CLASSES.reduce((sum, c) => sum + this.counts[c], 0),
      bytes: this.bytes,
      ...(oldest ? { oldestAt: oldest.created_at } : {}),
      inFlight: this.inFlightCount,
      byClass: { ...this.counts },
      dropped: { ...this.totalDrops },
    };
  }

  overflow(): OverflowReport | undefined {
    return this.unreported.report();
  }

  overflowReported(report: OverflowReport): void {
    this.write(this.opts.synchronous ?? 'FULL', () => {
      for (const cls of MESSAGE_CLASSES) if (report.byClass[cls] > 0) this.stmt.reported.run(report.byClass[cls], CLASS_CODE[cls]);
    });
    this.unreported.subtract(report);
  }

  /**
   * One transaction at the given durability; the connection's own setting is restored after. When
   * it fails (disk full, database locked, I/O error) SQLite rolled it back, so the counters kept
   * in memory are read again from the tables before the error is passed on.
   */
  private write(sync: OutboxSynchronous, body: () => void): void {
    try {
      withSynchronous(this.db, SYNCHRONOUS[sync], this.baseSync, () => this.db.transaction(body)());
    } catch (err) {
      this.resync();
      throw err;
    }
  }

  private resync(): void {
    this.readAhead = [];
    const stats = readOutboxStats(this.db);
    Object.assign(this.counts, stats.byClass);
    this.bytes = stats.bytes;
    Object.assign(this.totalDrops, stats.dropped);
    this.pendingRetained.clear();
    const retained = this.db.prepare<[number], { seq: number; topic: string }>('SELECT seq, topic FROM outbox WHERE class = 0 AND seq > ? ORDER BY seq');
    for (const row of retained.all(this.retainedCursor)) this.pendingRetained.set(row.topic, row.seq);
    this.unreported.reset();
    this.loadUnreported();
  }

  /** Deletes one row and keeps the counters and in-memory indexes right. Runs inside a transaction. */
  private remove(seq: number): Removed | undefined {
    const removed = this.stmt.remove.get(seq);
    if (removed) this.forget({ ...removed, seq });
    return removed;
  }

  /** The in-memory side of deleting a row. */
  private forget(removed: Removed & { seq: number }): void {
    const { seq } = removed;
    this.counts[CODE_CLASS[removed.class]]--;
    this.bytes -= removed.bytes;
    if (removed.class === RETAINED) {
      if (this.pendingRetained.get(removed.topic) === seq) this.pendingRetained.delete(removed.topic);
      if (this.inFlightRetained.delete(seq)) this.inFlightCount--;
    } else if (seq <= this.otherCursor) {
      this.inFlightCount = Math.max(0, this.inFlightCount - 1);
    } else {
      this.readAhead = [];
    }
  }

  private over(): boolean {
    const depth = this.counts.retained + this.counts.result + this.counts.security + this.counts.telemetry;
    return depth > this.opts.limits.maxMessages || this.bytes > this.opts.limits.maxBytes;
  }

  private enforceLimits(drops: DropTally): void {
    for (const group of DROP_ORDER) {
      const cursor = group.includes('retained') ? () => this.retainedCursor : () => this.otherCursor;
      const victims = this.stmt.victims.get(group.join(','))!;
      while (this.over()) {
        const rows = victims.all(cursor(), VICTIM_BATCH);
        if (rows.length === 0) break;
        for (const { seq } of rows) {
          if (!this.over()) return;
          const removed = this.remove(seq);
          if (removed) drops.add(CODE_CLASS[removed.class], removed.created_at);
        }
      }
      if (!this.over()) return;
    }
  }

  private recordDrops(drops: DropTally): void {
    if (drops.total === 0) return;
    for (const cls of MESSAGE_CLASSES) {
      if (drops.byClass[cls] === 0) continue;
      this.stmt.drop.run({ class: CLASS_CODE[cls], count: drops.byClass[cls], first: drops.firstAt, last: drops.lastAt });
      this.totalDrops[cls] += drops.byClass[cls];
    }
    this.unreported.merge(drops);
  }

  /** Counters from the table; retained rows superseded while in flight before a restart are deleted. */
  private load(): void {
    this.write(this.opts.synchronous ?? 'FULL', () => {
      this.db
        .prepare('DELETE FROM outbox WHERE class = 0 AND seq NOT IN (SELECT max(seq) FROM outbox WHERE class = 0 GROUP BY topic)')
        .run();
    });
    const stats = readOutboxStats(this.db);
    Object.assign(this.counts, stats.byClass);
    this.bytes = stats.bytes;
    Object.assign(this.totalDrops, stats.dropped);
    for (const row of this.db.prepare<[], { seq: number; topic: string }>('SELECT seq, topic FROM outbox WHERE class = 0').all()) {
      this.pendingRetained.set(row.topic, row.seq);
    }
    this.loadUnreported();
  }

  private loadUnreported(): void {
    const unreported = this.db
      .prepare<[], { class: number; unreported: number; first_at: number | null; last_at: number | null }>(
        'SELECT class, unreported, first_at, last_at FROM outbox_drops WHERE unreported > 0',
      )
      .all();
    for (const row of unreported) {
      this.unreported.addSpan(CODE_CLASS[row.class], row.unreported, row.first_at ?? 0, row.last_at ?? row.first_at ?? 0);
    }
  }
}

export interface StoredOutboxStats {
  depth: number;
  bytes: number;
  oldestAt?: number;
  byClass: ClassCounts;
  dropped: ClassCounts;
  unreported: ClassCounts;
}

/** True when the database has the outbox tables (a gatehouse with the uplink has opened it once). */
export function hasOutbox(db: SqliteDatabase): boolean {
  return db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'outbox'").get() !== undefined;
}

/** Statistics read straight from the tables; works on a read-only connection. */
export function readOutboxStats(db: SqliteDatabase): StoredOutboxStats {
  const byClass = zeroCounts();
  let bytes = 0;
  for (const row of db.prepare<[], { class: number; n: number; b: number }>('SELECT class, count(*) AS n, coalesce(sum(bytes), 0) AS b FROM outbox GROUP BY class').all()) {
    byClass[CODE_CLASS[row.class]] = row.n;
    bytes += row.b;
  }
  const dropped = zeroCounts();
  const unreported = zeroCounts();
  for (const row of db.prepare<[], { class: number; total: number; unreported: number }>('SELECT class, total, unreported FROM outbox_drops').all()) {
    dropped[CODE_CLASS[row.class]] = row.total;
    unreported[CODE_CLASS[row.class]] = row.unreported;
  }
  const oldest = db.prepare<[], { created_at: number }>('SELECT created_at FROM outbox ORDER BY seq LIMIT 1').get();
  return {
    depth: MESSAGE_CLASSES.reduce((sum, c) => sum + byClass[c], 0),
    bytes,
    ...(oldest ? { oldestAt: oldest.created_at } : {}),
    byClass,
    dropped,
    unreported,
  };
}
