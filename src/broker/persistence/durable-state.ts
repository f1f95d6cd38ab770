// What the broker's persistence (gatehouse-persistence.ts) keeps across a restart, and the contract
// of the store that keeps it: everything is read once before the broker starts (load), and every
// change is written either before the operation that caused it completes (commit) or shortly
// after (defer, for changes whose loss in a crash only means a message is sent again). The
// SQLite store is src/store/sqlite-broker-state.ts; NO_DURABLE_STATE keeps nothing
// (broker.persistence: memory).

/** A packet as aedes hands it to the persistence: plain fields (cmd, topic, payload, qos, ...). */
export type StoredPacket = Record<string, unknown> & {
  cmd?: string;
  topic?: string;
  payload?: unknown;
  qos?: number;
  messageId?: number;
  brokerId?: string;
  brokerCounter?: number;
};

/** One subscription of a persistent session, as aedes-persistence keeps it. */
export interface SubscriptionRecord {
  topic: string;
  qos: number;
  rh?: number;
  rap?: boolean;
  nl?: boolean;
  /** MQTT 5 subscription identifier, only when the subscription had one. */
  subscriptionIdentifier?: number;
}

/** A message stored for a persistent session: queued, or sent and not yet acknowledged. */
export interface QueuedMessage {
  /** Increases with every message stored: the order in which a session receives them. */
  seq: number;
  clientId: string;
  packet: StoredPacket;
}

export interface SessionRecord {
  clientId: string;
  /** Who logged in with it last; undefined for an anonymous client. */
  username?: string;
  /** Epoch ms: when the client last connected or disconnected. */
  lastSeen: number;
  /** Whether its client was connected when this was written (true after a crash). */
  connected: boolean;
}

export interface WillRecord {
  clientId: string;
  /** The user the client logged in as (checked again before a will left by a crash is published). */
  username?: string;
  packet: StoredPacket;
}

export interface BrokerStateSnapshot {
  sessions: SessionRecord[];
  subscriptions: { clientId: string; subscriptions: SubscriptionRecord[] }[];
  retained: StoredPacket[];
  /** In `seq` order. */
  outgoing: QueuedMessage[];
  /** QoS 2 PUBLISH packets received from persistent sessions and awaiting PUBREL. */
  incoming: { clientId: string; packet: StoredPacket }[];
  wills: WillRecord[];
}

export type StateChange =
  | { type: 'retain'; topic: string; packet: StoredPacket | null }
  | { type: 'subscribe'; clientId: string; subscriptions: SubscriptionRecord[] }
  | { type: 'unsubscribe'; clientId: string; topics: string[] }
  /** A clean-session connect: the subscriptions, the queue and the session record go. */
  | { type: 'end-session'; clientId: string }
  /** One packet stored for several sessions (one row each). */
  | { type: 'enqueue'; packet: StoredPacket; rows: { seq: number; clientId: string }[] }
  /** A stored message was sent with this packet identifier. */
  | { type: 'sent'; seq: number; messageId: number }
  /** A stored QoS 2 message was received (PUBREC): a PUBREL with its identifier takes its place. */
  | { type: 'released'; seq: number; messageId: number }
  | { type: 'dequeue'; seq: number }
  | { type: 'incoming'; clientId: string; messageId: number; packet: StoredPacket }
  | { type: 'incoming-done'; clientId: string; messageId: number }
  | { type: 'incoming-clean'; clientId: string }
  | { type: 'will'; clientId: string; will: WillRecord | null }
  | { type: 'session'; session: SessionRecord }
  /** Everything of one client id: an expired session. */
  | { type: 'forget'; clientId: string };

export interface DurableBrokerState {
  /** Where the state lives, for log lines ("memory" or a file). */
  readonly location: string;
  /** Everything stored; called once, before the broker accepts connections. */
  load(): BrokerStateSnapshot;
  /** Resolves once `changes` (in order) are on disk; rejects when they could not be written. */
  commit(...changes: StateChange[]): Promise<void>;
  /** Written before the next commit, or soon after; a crash may lose it (logged when it fails). */
  defer(change: StateChange): void;
  /** Resolves once every deferred change is on disk. */
  flush(): Promise<void>;
}

export function emptySnapshot(): BrokerStateSnapshot {
  return { sessions: [], subscriptions: [], retained: [], outgoing: [], incoming: [], wills: [] };
}

/** broker.persistence: memory. Nothing is kept: a restart starts with no sessions and no retained messages. */
export const NO_DURABLE_STATE: DurableBrokerState = Object.freeze({
  location: 'memory',
  load: emptySnapshot,
  commit: async () => undefined,
  defer: () => undefined,
  flush: async () => undefined,
});
