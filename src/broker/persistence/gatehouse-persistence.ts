// The aedes persistence of the embedded broker (the promise API of aedes-persistence 11.0.0, as
// aedes 1.2.0 calls it): the live state in memory, every change written through to a durable store
// (durable-state.ts; SQLite for broker.persistence: sqlite, nothing for memory) and read back at
// the next start, before any client can connect.
//
// What must be on disk before aedes goes on (commit): a message stored for a persistent session
// (aedes stores, then routes and acknowledges), a subscription (before SUBACK), a retained message,
// a will, a QoS 2 PUBLISH received from a persistent session (before PUBREC) and its removal
// (before PUBCOMP: a removal lost in a crash would make the client's next message with that
// identifier look like a retransmission, acknowledged and never delivered), the packet identifier
// of a QoS 2 message and its PUBREL (before they are sent: MQTT-4.4.0-1, resent with the same
// identifier). What may follow (defer): the identifier of a QoS 0/1 message being sent, the removal
// of an acknowledged message, and when a session connected or left; a crash before they are
// written makes a message be sent again (QoS 1 allows it) or a session look a little younger.
//
// Subscriptions and retained messages live in aedes-persistence's own memory store (its wildcard
// matching); the queues of persistent sessions (outgoing-queues.ts), QoS 2 packets awaiting
// PUBREL, wills and sessions are kept here.
import { Readable } from 'node:stream';
import type { DurableBrokerState, SessionRecord, StateChange, StoredPacket, SubscriptionRecord, WillRecord } from './durable-state.js';
import { newMemoryPersistence, packetClass, type ClientRef, type MemoryPersistence, type TopicSubscription } from './memory-persistence.js';
import { OutgoingQueues } from './outgoing-queues.js';

/** broker.limits.max_queued_messages (guards/offline-queue.ts). */
export interface QueuePolicy {
  /** Whether one more message may be stored for `clientId`, which has `queued` stored now. */
  admit(clientId: string, queued: number): boolean;
  /** The session's queue is empty again. */
  emptied(clientId: string): void;
}

export interface GatehousePersistenceOptions {
  state: DurableBrokerState;
  queue?: QueuePolicy;
  /** Retained messages kept in memory only: the gateway's own, which it publishes again at every start. */
  volatileRetained?: (topic: string) => boolean;
  /** The user a connected client logged in as, stored with its will. */
  ownerOf?: (client: ClientRef) => string | undefined;
  now?: () => number;
}

/** aedes' view of a client here: its id, and whether its session ends with the connection. */
interface ClientArg extends ClientRef {
  clean?: boolean;
}

export interface ExpiredSession {
  clientId: string;
  username?: string;
  lastSeen: number;
  /** Messages that were stored for it. */
  queued: number;
}

export interface RestoredState {
  sessions: number;
  subscriptions: number;
  queued: number;
  retained: number;
  wills: number;
}

/** A client is persistent unless aedes says its session is clean (the conformance suite passes bare ids). */
function persistent(client: ClientArg): boolean {
  return client.clean !== true;
}

/** aedes' Client (it has a connection), as opposed to the { id, brokerId } aedes passes to delete a will it published. */
function isConnection(client: ClientRef): boolean {
  return typeof client === 'object' && client !== null && 'conn' in client;
}

function noSuchPacket(): Error {
  return new Error('no such packet');
}

export class GatehousePersistence {
  private readonly memory: MemoryPersistence = newMemoryPersistence();
  private readonly Packet = packetClass();
  private readonly queues = new OutgoingQueues();
  private readonly incoming = new Map<string, Map<number, StoredPacket>>();
  /** Client ids with QoS 2 packets in the durable store. */
  private readonly durableIncoming = new Set<string>();
  private readonly wills = new Map<string, WillRecord>();
  private readonly sessions = new Map<string, SessionRecord>();
  private readonly pending = new Set<Promise<unknown>>();
  private leftoverWills: WillRecord[] = [];
  private nextSeq = 1;
  private brokerRef: { id: string } | undefined;
  private destroyed = false;
  /** What setup() read from the durable store. */
  restored: RestoredState = { sessions: 0, subscriptions: 0, queued: 0, retained: 0, wills: 0 };

  constructor(private readonly options: GatehousePersistenceOptions) {}

  get broker(): unknown {
    return this.brokerRef;
  }

  /** Where the state is kept ("memory" or the database file). */
  get location(): string {
    return this.options.state.location;
  }

  /** Messages stored for all persistent sessions now. */
  get queuedMessages(): number {
    return this.queues.size;
  }

  /** Messages stored for one session now. */
  queuedFor(clientId: string): number {
    return this.queues.sizeOf(clientId);
  }

  /** Whether a QoS 2 PUBLISH `messageId` from `clientId` is stored and awaits its PUBREL (MQTT-4.3.3-2). */
  awaitingPubrel(clientId: string, messageId: number): boolean {
    return this.incoming.get(clientId)?.has(messageId) === true;
  }

  /** Called by aedes.listen(): reads the durable state before any client can connect. */
  async setup(broker: { id: string }): Promise<void> {
    this.brokerRef = broker;
    await this.memory.setup(broker);
    await this.restore();
  }

  // ---- retained messages

  async storeRetained(original: StoredPacket): Promise<void> {
    const packet = { ...original };
    await this.memory.storeRetained(packet);
    const topic = String(packet.topic);
    if (this.options.volatileRetained?.(topic)) return;
    const empty = (packet.payload as { length?: number } | undefined)?.length === 0;
    await this.commit({ type: 'retain', topic, packet: empty ? null : packet });
  }

  createRetainedStream(pattern: string): Readable {
    return this.memory.createRetainedStream(pattern);
  }

  createRetainedStreamCombi(patterns: string[]): Readable {
    return this.memory.createRetainedStreamCombi(patterns);
  }

  // ---- subscriptions

  async addSubscriptions(client: ClientArg, subs: SubscriptionRecord[]): Promise<void> {
    await this.memory.addSubscriptions(client, subs);
    // The last of several for one topic is the one kept (MQTT-3.8.4-3).
    const byTopic = new Map<string, SubscriptionRecord>();
    for (const sub of subs) byTopic.set(sub.topic, sub);
    const changes: StateChange[] = [{ type: 'subscribe', clientId: client.id, subscriptions: [...byTopic.values()] }];
    if (!this.sessions.has(client.id)) changes.push(this.touchSession(client.id, { connected: true }));
    await this.commit(...changes);
  }

  async removeSubscriptions(client: ClientArg, topics: string[]): Promise<void> {
    await this.memory.removeSubscriptions(client, topics);
    await this.commit({ type: 'unsubscribe', clientId: client.id, topics });
  }

  subscriptionsByClient(client: ClientRef): Promise<SubscriptionRecord[]> {
    return this.memory.subscriptionsByClient(client);
  }

  countOffline(): Promise<{ subsCount: number; clientsCount: number }> {
    return this.memory.countOffline();
  }

  subscriptionsByTopic(topic: string): Promise<TopicSubscription[]> {
    return this.memory.subscriptionsByTopic(topic);
  }

  getClientList(topic: string): Readable {
    return this.memory.getClientList(topic);
  }

  /**
   * aedes calls this for a clean-session CONNECT only: the previous session of the client id ends
   * (MQTT-3.1.2-6), with its subscriptions and every message stored for it.
   */
  async cleanSubscriptions(client: ClientArg): Promise<void> {
    const subscribed = (await this.memory.subscriptionsByClient(client)).length > 0;
    await this.memory.cleanSubscriptions(client);
    const known = this.sessions.delete(client.id);
    const queued = this.queues.clear(client.id);
    if (queued > 0) this.options.queue?.emptied(client.id);
    // Everything stored is also in memory: with nothing here, there is nothing on disk either.
    if (subscribed || known || queued > 0) await this.commit({ type: 'end-session', clientId: client.id });
  }

  // ---- messages for persistent sessions

  outgoingEnqueue(sub: { clientId: string }, packet: StoredPacket): Promise<void> {
    return this.outgoingEnqueueCombi([sub], packet);
  }

  async outgoingEnqueueCombi(subs: { clientId: string }[], original: StoredPacket): Promise<void> {
    if (subs.length === 0) return;
    const packet = new this.Packet(original);
    // Stored for established subscriptions only: MQTT-3.3.1-9, RETAIN 0 when it is sent (aedes
    // would resend the publisher's flag from the queue).
    packet.retain = false;
    const rows: { seq: number; clientId: string }[] = [];
    for (const { clientId } of subs) {
      if (this.options.queue && !this.options.queue.admit(clientId, this.queues.sizeOf(clientId))) continue;
      const seq = this.nextSeq++;
      this.queues.push({ seq, clientId, packet: { ...packet } });
      rows.push({ seq, clientId });
    }
    if (rows.length === 0) return;
    try {
      await this.commit({ type: 'enqueue', packet, rows });
    } catch (err) {
      for (const row of rows) this.queues.remove(row.clientId, row.seq);
      throw err;
    }
  }

  async outgoingUpdate(client: ClientArg, packet: StoredPacket): Promise<void> {
    const entry = this.queues.findForUpdate(client.id, packet);
    if (!entry) throw noSuchPacket();
    const messageId = Number(packet.messageId);
    if (packet.cmd === 'pubrel') {
      entry.packet = { cmd: 'pubrel', messageId };
      await this.commit({ type: 'released', seq: entry.seq, messageId });
      return;
    }
    entry.packet.messageId = messageId;
    const change: StateChange = { type: 'sent', seq: entry.seq, messageId };
    if (Math.max(Number(entry.packet.qos ?? 0), Number(packet.qos ?? 0)) >= 2) await this.commit(change);
    else this.defer(change);
  }

  async outgoingClearMessageId(client: ClientArg, packet: StoredPacket | undefined): Promise<StoredPacket | undefined> {
    const entry = this.queues.take(client.id, packet);
    if (!entry) return undefined;
    this.defer({ type: 'dequeue', seq: entry.seq });
    if (this.queues.sizeOf(client.id) === 0) this.options.queue?.emptied(client.id);
    return entry.packet;
  }

  outgoingStream(client: ClientRef): Readable {
    return Readable.from(this.queues.packets(client.id));
  }

  // ---- QoS 2 packets received, awaiting PUBREL

  async incomingStorePacket(client: ClientArg, original: StoredPacket): Promise<void> {
    const messageId = Number(original.messageId);
    const packet = new this.Packet(original);
    packet.messageId = messageId;
    let stored = this.incoming.get(client.id);
    if (!stored) this.incoming.set(client.id, (stored = new Map()));
    stored.set(messageId, packet);
    // A clean session ends with its connection, and so do its QoS 2 exchanges.
    if (!persistent(client)) return;
    this.durableIncoming.add(client.id);
    try {
      await this.commit({ type: 'incoming', clientId: client.id, messageId, packet });
    } catch (err) {
      stored.delete(messageId);
      throw err;
    }
  }

  async incomingGetPacket(client: ClientRef, packet: StoredPacket): Promise<StoredPacket> {
    const stored = this.incoming.get(client.id)?.get(Number(packet.messageId));
    if (!stored) throw noSuchPacket();
    return stored;
  }

  async incomingDelPacket(client: ClientRef, packet: StoredPacket): Promise<void> {
    const messageId = Number(packet.messageId);
    const stored = this.incoming.get(client.id);
    if (!stored?.delete(messageId)) throw noSuchPacket();
    if (stored.size === 0) this.incoming.delete(client.id);
    if (this.durableIncoming.has(client.id)) await this.commit({ type: 'incoming-done', clientId: client.id, messageId });
  }

  async cleanIncoming(client: ClientRef): Promise<void> {
    this.incoming.delete(client.id);
    if (!this.durableIncoming.delete(client.id)) return;
    await this.commit({ type: 'incoming-clean', clientId: client.id });
  }

  // ---- wills

  async putWill(client: ClientRef, packet: StoredPacket): Promise<void> {
    // As aedes-persistence does: the will names its broker and client (streamWill, delWill).
    packet.brokerId = this.brokerRef?.id;
    packet.clientId = client.id;
    const username = this.options.ownerOf?.(client);
    const will: WillRecord = { clientId: client.id, packet, ...(username !== undefined ? { username } : {}) };
    this.wills.set(client.id, will);
    await this.commit({ type: 'will', clientId: client.id, will });
  }

  async getWill(client: ClientRef): Promise<StoredPacket | undefined> {
    return this.wills.get(client.id)?.packet;
  }

  async delWill(client: ClientRef): Promise<StoredPacket | undefined> {
    const will = this.wills.get(client.id);
    if (!will) return undefined;
    // Once it has published a will, aedes deletes it by client id ({ id, brokerId }). When the
    // client took its own session over (MQTT-3.1.4-2), the will stored now is the new connection's,
    // stored before the old one was closed: it stays (else a crash would leave no will for it).
    if (!isConnection(client) && this.liveWillOwner(client.id)) return undefined;
    this.wills.delete(client.id);
    await this.commit({ type: 'will', clientId: client.id, will: null });
    return will.packet;
  }

  streamWill(brokers: Record<string, unknown> = {}): Readable {
    const wills = [...this.wills.values()].map((will) => will.packet).filter((packet) => !brokers[String(packet.brokerId)]);
    return Readable.from(wills);
  }

  /** The wills read at setup: those of clients connected when the previous run ended without closing them (a crash). */
  takeLeftoverWills(): WillRecord[] {
    const wills = this.leftoverWills;
    this.leftoverWills = [];
    return wills;
  }

  // ---- sessions

  /** A client with CleanSession=0 connected. */
  sessionAttached(clientId: string, username: string | undefined): void {
    this.defer(this.touchSession(clientId, { connected: true, username }));
  }

  /** A client's connection closed; only a known (persistent) session is recorded. */
  sessionDetached(clientId: string): void {
    if (this.sessions.has(clientId)) this.defer(this.touchSession(clientId, { connected: false }));
  }

  /** Persistent sessions known now. */
  get sessionCount(): number {
    return this.sessions.size;
  }

  /** Whether a persistent session of this client id exists (MQTT-3.2.2-2: Session Present). */
  hasSession(clientId: string): boolean {
    return this.sessions.has(clientId);
  }

  /**
   * Removes every session whose client left before `olderThan` (epoch ms) and is not connected
   * now: its subscriptions, stored messages, QoS 2 state and will.
   */
  async expireSessions(olderThan: number, isAttached: (clientId: string) => boolean): Promise<ExpiredSession[]> {
    const expired: ExpiredSession[] = [];
    for (const session of [...this.sessions.values()]) {
      if (session.connected || session.lastSeen >= olderThan || isAttached(session.clientId)) continue;
      const { clientId } = session;
      await this.memory.cleanSubscriptions({ id: clientId });
      this.sessions.delete(clientId);
      this.incoming.delete(clientId);
      this.durableIncoming.delete(clientId);
      this.wills.delete(clientId);
      const queued = this.queues.clear(clientId);
      if (queued > 0) this.options.queue?.emptied(clientId);
      expired.push({ clientId, ...(session.username !== undefined ? { username: session.username } : {}), lastSeen: session.lastSeen, queued });
    }
    if (expired.length > 0) await this.commit(...expired.map((e): StateChange => ({ type: 'forget', clientId: e.clientId })));
    return expired;
  }

  // ---- life cycle

  /** Resolves once every write started so far, and every deferred one, is on disk. */
  async drain(): Promise<void> {
    for (;;) {
      while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
      // A completed step of aedes may start the next one (a will's publish, then its removal).
      await new Promise((resolve) => setImmediate(resolve));
      if (this.pending.size > 0) continue;
      await this.options.state.flush();
      if (this.pending.size === 0) return;
    }
  }

  async destroy(): Promise<void> {
    if (this.destroyed) throw new Error('destroyed called twice!');
    this.destroyed = true;
    await this.drain();
    await this.memory.destroy();
  }

  private commit(...changes: StateChange[]): Promise<void> {
    const done = this.options.state.commit(...changes);
    this.pending.add(done);
    const forget = () => this.pending.delete(done);
    done.then(forget, forget);
    return done;
  }

  private defer(change: StateChange): void {
    this.options.state.defer(change);
  }

  private touchSession(clientId: string, changes: { connected: boolean; username?: string }): StateChange {
    const previous = this.sessions.get(clientId);
    const username = changes.username ?? previous?.username;
    const session: SessionRecord = { clientId, lastSeen: this.now(), connected: changes.connected, ...(username !== undefined ? { username } : {}) };
    this.sessions.set(clientId, session);
    return { type: 'session', session };
  }

  /** Whether aedes lists an open connection with this client id that has a will. */
  private liveWillOwner(clientId: string): boolean {
    const live = (this.brokerRef as { clients?: Record<string, { closed?: boolean; will?: unknown } | undefined> } | undefined)?.clients?.[clientId];
    return live !== undefined && live.closed !== true && live.will !== null && live.will !== undefined;
  }

  private now(): number {
    return (this.options.now ?? Date.now)();
  }

  private async restore(): Promise<void> {
    const snapshot = this.options.state.load();
    for (const { clientId, subscriptions } of snapshot.subscriptions) await this.memory.addSubscriptions({ id: clientId }, subscriptions);
    for (const packet of snapshot.retained) await this.memory.storeRetained(packet);
    for (const entry of snapshot.outgoing) {
      this.queues.push(entry);
      this.nextSeq = Math.max(this.nextSeq, entry.seq + 1);
    }
    for (const { clientId, packet } of snapshot.incoming) {
      let stored = this.incoming.get(clientId);
      if (!stored) this.incoming.set(clientId, (stored = new Map()));
      stored.set(Number(packet.messageId), packet);
      this.durableIncoming.add(clientId);
    }
    for (const will of snapshot.wills) this.wills.set(will.clientId, will);
    this.leftoverWills = [...snapshot.wills];
    for (const session of snapshot.sessions) this.sessions.set(session.clientId, session);
    // A session whose client was connected when the previous run ended (a crash) counts as left
    // now; so does state without a session record.
    const owners = new Set([...snapshot.subscriptions.map((s) => s.clientId), ...this.queues.clientIds(), ...this.durableIncoming]);
    for (const session of snapshot.sessions) if (session.connected) this.defer(this.touchSession(session.clientId, { connected: false }));
    for (const clientId of owners) if (!this.sessions.has(clientId)) this.defer(this.touchSession(clientId, { connected: false }));
    this.restored = {
      sessions: this.sessions.size,
      subscriptions: snapshot.subscriptions.reduce((n, s) => n + s.subscriptions.length, 0),
      queued: this.queues.size,
      retained: snapshot.retained.length,
      wills: snapshot.wills.length,
    };
  }
}
