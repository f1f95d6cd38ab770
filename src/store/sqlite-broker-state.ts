// The embedded broker's state in the gateway's database (tables broker_*, migration 4), for
// broker.persistence: sqlite. Writes go through the group commit (group-commit.ts) shared with the
// journal and the command ledger: everything handed over in one event-loop turn is one
// transaction, one fsync (synchronous=FULL), and commit() resolves once it is on disk. Deferred
// changes wait for the next commit, or at most DEFER_MS.
import type { Statement } from 'better-sqlite3';
import type { Commit } from '../commands/commit.js';
import type {
  BrokerStateSnapshot,
  DurableBrokerState,
  QueuedMessage,
  SessionRecord,
  StateChange,
  StoredPacket,
  SubscriptionRecord,
  WillRecord,
} from '../broker/persistence/durable-state.js';
import type { SqliteDatabase } from './database.js';
import { decodePacket, encodePacket } from './packet-blob.js';
import { StoreError } from './store-error.js';

/** Longest a deferred change waits for a commit to join. */
const DEFER_MS = 100;

export interface BrokerStateLog {
  error(obj: object, msg: string): void;
}

interface SubscriptionRow {
  client_id: string;
  topic: string;
  qos: number;
  options: string | null;
}

/** The fields of a subscription besides topic and qos, as stored in `options`. */
function subscriptionOptions(sub: SubscriptionRecord): string | null {
  const { topic: _topic, qos: _qos, ...rest } = sub;
  const present = Object.fromEntries(Object.entries(rest).filter(([, value]) => value !== undefined));
  return Object.keys(present).length > 0 ? JSON.stringify(present) : null;
}

export class SqliteBrokerState implements DurableBrokerState {
  readonly location: string;
  private deferred: StateChange[] = [];
  private deferTimer: NodeJS.Timeout | undefined;
  private readonly deferredWrites = new Set<Promise<void>>();
  private readonly sql: Record<string, Statement>;

  constructor(
    private readonly db: SqliteDatabase,
    private readonly run: Commit,
    private readonly log: BrokerStateLog,
  ) {
    this.location = db.name;
    const prepare = (text: string) => db.prepare(text);
    this.sql = {
      retain: prepare('INSERT INTO broker_retained (topic, packet) VALUES (?, ?) ON CONFLICT (topic) DO UPDATE SET packet = excluded.packet'),
      unretain: prepare('DELETE FROM broker_retained WHERE topic = ?'),
      subscribe: prepare(
        'INSERT INTO broker_subscriptions (client_id, topic, qos, options) VALUES (?, ?, ?, ?) ' +
          'ON CONFLICT (client_id, topic) DO UPDATE SET qos = excluded.qos, options = excluded.options',
      ),
      unsubscribe: prepare('DELETE FROM broker_subscriptions WHERE client_id = ? AND topic = ?'),
      unsubscribeAll: prepare('DELETE FROM broker_subscriptions WHERE client_id = ?'),
      enqueue: prepare('INSERT INTO broker_outgoing (seq, client_id, packet) VALUES (?, ?, ?)'),
      sent: prepare('UPDATE broker_outgoing SET message_id = ? WHERE seq = ?'),
      released: prepare('UPDATE broker_outgoing SET message_id = ?, packet = ? WHERE seq = ?'),
      dequeue: prepare('DELETE FROM broker_outgoing WHERE seq = ?'),
      dequeueAll: prepare('DELETE FROM broker_outgoing WHERE client_id = ?'),
      incoming: prepare('INSERT OR REPLACE INTO broker_incoming (client_id, message_id, packet) VALUES (?, ?, ?)'),
      incomingDone: prepare('DELETE FROM broker_incoming WHERE client_id = ? AND message_id = ?'),
      incomingClean: prepare('DELETE FROM broker_incoming WHERE client_id = ?'),
      will: prepare('INSERT OR REPLACE INTO broker_wills (client_id, username, packet) VALUES (?, ?, ?)'),
      noWill: prepare('DELETE FROM broker_wills WHERE client_id = ?'),
      session: prepare('INSERT OR REPLACE INTO broker_sessions (client_id, username, last_seen, connected) VALUES (?, ?, ?, ?)'),
      noSession: prepare('DELETE FROM broker_sessions WHERE client_id = ?'),
    };
  }

  load(): BrokerStateSnapshot {
    const sessions = this.db
      .prepare<[], { client_id: string; username: string | null; last_seen: number; connected: number }>('SELECT * FROM broker_sessions')
      .all()
      .map((row): SessionRecord => ({ clientId: row.client_id, lastSeen: row.last_seen, connected: row.connected === 1, ...(row.username !== null ? { username: row.username } : {}) }));

    const byClient = new Map<string, SubscriptionRecord[]>();
    for (const row of this.db.prepare<[], SubscriptionRow>('SELECT client_id, topic, qos, options FROM broker_subscriptions ORDER BY rowid').all()) {
      let subs = byClient.get(row.client_id);
      if (!subs) byClient.set(row.client_id, (subs = []));
      const options = row.options === null ? {} : (this.parse(() => JSON.parse(row.options!) as object, 'broker_subscriptions', `${row.client_id} ${row.topic}`) as object);
      subs.push({ topic: row.topic, qos: row.qos, ...options });
    }

    const retained = this.db
      .prepare<[], { topic: string; packet: Buffer }>('SELECT topic, packet FROM broker_retained ORDER BY topic')
      .all()
      .map((row) => this.decode(row.packet, 'broker_retained', row.topic));
    const outgoing = this.db
      .prepare<[], { seq: number; client_id: string; message_id: number | null; packet: Buffer }>('SELECT seq, client_id, message_id, packet FROM broker_outgoing ORDER BY seq')
      .all()
      .map((row): QueuedMessage => {
        const packet = this.decode(row.packet, 'broker_outgoing', `seq ${row.seq}`);
        if (row.message_id !== null) packet.messageId = row.message_id;
        return { seq: row.seq, clientId: row.client_id, packet };
      });
    const incoming = this.db
      .prepare<[], { client_id: string; message_id: number; packet: Buffer }>('SELECT client_id, message_id, packet FROM broker_incoming ORDER BY rowid')
      .all()
      .map((row) => ({ clientId: row.client_id, packet: { ...this.decode(row.packet, 'broker_incoming', `${row.client_id} ${row.message_id}`), messageId: row.message_id } }));
    const wills = this.db
      .prepare<[], { client_id: string; username: string | null; packet: Buffer }>('SELECT client_id, username, packet FROM broker_wills ORDER BY rowid')
      .all()
      .map((row): WillRecord => ({ clientId: row.client_id, packet: this.decode(row.packet, 'broker_wills', row.client_id), ...(row.username !== null ? { username: row.username } : {}) }));

    return { sessions, subscriptions: [...byClient].map(([clientId, subscriptions]) => ({ clientId, subscriptions })), retained, outgoing, incoming, wills };
  }

  commit(...changes: StateChange[]): Promise<void> {
    this.writeDeferred();
    return this.run(() => {
      for (const change of changes) this.apply(change);
    });
  }

  defer(change: StateChange): void {
    this.deferred.push(change);
    this.deferTimer ??= setTimeout(() => this.writeDeferred(), DEFER_MS).unref();
  }

  async flush(): Promise<void> {
    this.writeDeferred();
    while (this.deferredWrites.size > 0) await Promise.allSettled([...this.deferredWrites]);
  }

  /** Hands the deferred changes to the group commit, ahead of anything handed over after them. */
  private writeDeferred(): void {
    if (this.deferTimer) clearTimeout(this.deferTimer);
    this.deferTimer = undefined;
    if (this.deferred.length === 0) return;
    const changes = this.deferred;
    this.deferred = [];
    const write = this.run(() => {
      for (const change of changes) this.apply(change);
    }).catch((err: unknown) => this.log.error({ err, changes: changes.length }, 'broker state: changes not stored (a crash now would send some messages again)'));
    this.deferredWrites.add(write);
    void write.finally(() => this.deferredWrites.delete(write));
  }

  private apply(change: StateChange): void {
    const { sql } = this;
    switch (change.type) {
      case 'retain':
        if (change.packet) sql.retain.run(change.topic, encodePacket(change.packet));
        else sql.unretain.run(change.topic);
        return;
      case 'subscribe':
        for (const sub of change.subscriptions) sql.subscribe.run(change.clientId, sub.topic, sub.qos, subscriptionOptions(sub));
        return;
      case 'unsubscribe':
        for (const topic of change.topics) sql.unsubscribe.run(change.clientId, topic);
        return;
      case 'end-session':
        sql.unsubscribeAll.run(change.clientId);
        sql.dequeueAll.run(change.clientId);
        sql.noSession.run(change.clientId);
        return;
      case 'enqueue': {
        const blob = encodePacket(change.packet);
        for (const row of change.rows) sql.enqueue.run(row.seq, row.clientId, blob);
        return;
      }
      case 'sent':
        sql.sent.run(change.messageId, change.seq);
        return;
      case 'released':
        sql.released.run(change.messageId, encodePacket({ cmd: 'pubrel', messageId: change.messageId }), change.seq);
        return;
      case 'dequeue':
        sql.dequeue.run(change.seq);
        return;
      case 'incoming':
        sql.incoming.run(change.clientId, change.messageId, encodePacket(change.packet));
        return;
      case 'incoming-done':
        sql.incomingDone.run(change.clientId, change.messageId);
        return;
      case 'incoming-clean':
        sql.incomingClean.run(change.clientId);
        return;
      case 'will':
        if (change.will) sql.will.run(change.clientId, change.will.username ?? null, encodePacket(change.will.packet));
        else sql.noWill.run(change.clientId);
        return;
      case 'session': {
        const { session } = change;
        sql.session.run(session.clientId, session.username ?? null, session.lastSeen, session.connected ? 1 : 0);
        return;
      }
      case 'forget':
        sql.unsubscribeAll.run(change.clientId);
        sql.dequeueAll.run(change.clientId);
        sql.incomingClean.run(change.clientId);
        sql.noWill.run(change.clientId);
        sql.noSession.run(change.clientId);
        return;
    }
  }

  private decode(blob: Buffer, table: string, key: string): StoredPacket {
    return this.parse(() => decodePacket(blob), table, key) as StoredPacket;
  }

  /** A row that cannot be read stops the start, as a damaged file does: nothing is dropped unseen. */
  private parse(read: () => unknown, table: string, key: string): unknown {
    try {
      return read();
    } catch (err) {
      throw new StoreError(
        'STORE_CORRUPT',
        `${this.location}: row ${key} of ${table} cannot be read (${(err as Error).message}). Stop gatehouse, move the file (and any -wal/-shm beside it) aside to keep it for analysis, and start again with an empty database; the outbox, remembered command ids, journal and broker state (persistent sessions, their queued messages, retained messages) in it are lost.`,
        { cause: err },
      );
    }
  }
}
