// Per-connection and per-client limits of the embedded broker beyond what protocol-guard.ts
// checks on the wire: open connections, unacknowledged outbound messages, topic length,
// subscriptions per client, messages queued for an offline persistent session and client id
// length. Also the mapping from the config's broker.limits / broker.login keys.
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { CONTRACT_MAX_TOPIC_BYTES, CONTRACT_TOPIC_LEVELS } from '../topics.js';
import { DEFAULT_LOGIN_LIMITS, type LoginLimiterOptions } from './login-limiter.js';

export interface ClientLimits {
  /** Open TCP connections across all listeners, counted from accept (before a TLS handshake, WebSocket upgrade or CONNECT). */
  maxConnections: number;
  /** QoS 1/2 PUBLISH packets written to one client and not yet acknowledged. */
  maxInflight: number;
  /** Bytes of a PUBLISH topic name or a SUBSCRIBE topic filter. */
  maxTopicLength: number;
  /** Subscriptions one client holds at once. */
  maxSubscriptions: number;
  /** QoS 1/2 messages stored for one persistent session while its client is away; 0 = no limit (guards/offline-queue.ts). */
  maxQueuedMessages: number;
  /** Bytes of a client identifier; a longer one gets CONNACK 2 (MQTT-3.1.3-9). */
  maxClientIdLength: number;
  /** Seconds a persistent session's client may stay away before the session is removed; 0 = never (persistence/session-expiry.ts). */
  sessionExpirySeconds: number;
}

export const DEFAULT_CLIENT_LIMITS: ClientLimits = {
  maxConnections: 1000,
  // aedes writes every message as soon as it is routed, so a burst (the retained picture of a
  // large site on SUBSCRIBE, a flood of events) is briefly "in flight" for a healthy client.
  maxInflight: 10_000,
  // The longest topic of the contract is 264 bytes (site/ + four 64-character ids).
  maxTopicLength: 1024,
  maxSubscriptions: 256,
  // mosquitto's max_queued_messages default. A persistent subscriber to a whole site that never
  // returns would otherwise collect every state and event message.
  maxQueuedMessages: 1000,
  // MQTT-3.1.3-5 guarantees 23 bytes; a UUID with a prefix fits easily. Client ids are kept for
  // the life of a persistent session and written to logs.
  maxClientIdLength: 128,
  // A week: a guard desk closed over a long weekend keeps its session; a tablet thrown away does
  // not collect messages (up to max_queued_messages) for ever.
  sessionExpirySeconds: 7 * 24 * 3600,
};

/** Smallest values the config accepts: below them the topic contract itself would break. */
export const CONTRACT_MINIMUMS = {
  /** site/{site}/{kind}/{device}/{leaf} */
  maxTopicLevels: CONTRACT_TOPIC_LEVELS,
  /** "site/" + 4 ids of 64 characters + 3 separators: 264. */
  maxTopicLength: CONTRACT_MAX_TOPIC_BYTES,
  /** MQTT-3.1.3-5: the server must allow client ids of 1 to 23 bytes. */
  maxClientIdLength: 23,
} as const;

/** broker.limits in the config file. */
export interface BrokerLimitsConfig {
  max_connections: number;
  max_packet_bytes: number;
  max_inflight: number;
  max_topic_levels: number;
  max_topic_length: number;
  max_subscriptions: number;
  max_queued_messages: number;
  max_client_id_length: number;
  session_expiry_s: number;
}

/** broker.login in the config file. */
export interface BrokerLoginConfig {
  max_failures_per_address: number;
  max_failures_per_username: number;
  window_ms: number;
  lockout_ms: number;
  max_tracked: number;
}

export function brokerLimitsFromConfig(c: BrokerLimitsConfig): ClientLimits & { maxPacketBytes: number; maxTopicLevels: number } {
  return {
    maxConnections: c.max_connections,
    maxPacketBytes: c.max_packet_bytes,
    maxInflight: c.max_inflight,
    maxTopicLevels: c.max_topic_levels,
    maxTopicLength: c.max_topic_length,
    maxSubscriptions: c.max_subscriptions,
    maxQueuedMessages: c.max_queued_messages,
    maxClientIdLength: c.max_client_id_length,
    sessionExpirySeconds: c.session_expiry_s,
  };
}

export function loginLimitsFromConfig(c: BrokerLoginConfig): LoginLimiterOptions {
  return {
    ...DEFAULT_LOGIN_LIMITS,
    maxFailuresPerAddress: c.max_failures_per_address,
    maxFailuresPerUsername: c.max_failures_per_username,
    windowMs: c.window_ms,
    lockoutMs: c.lockout_ms,
    maxTracked: c.max_tracked,
  };
}

// Under a connection flood one line per refused connection would flood the log instead.
const REFUSAL_LOG_INTERVAL_MS = 10_000;

/** Counts open connections; refuses new ones at the limit. */
export class ConnectionCounter {
  private count = 0;
  private refusedTotal = 0;
  private unlogged = 0;
  private lastLogAt = -Infinity;

  constructor(
    private readonly max: number,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  get open(): number {
    return this.count;
  }

  get refused(): number {
    return this.refusedTotal;
  }

  /** Counts `stream` (a listener's raw TCP socket) until it closes and returns true, or returns false at the limit (the caller closes it). */
  admit(stream: Duplex, peer: string): boolean {
    if (this.count >= this.max) {
      this.refusedTotal++;
      this.unlogged++;
      const now = this.now();
      if (now - this.lastLogAt >= REFUSAL_LOG_INTERVAL_MS) {
        this.log.warn(
          { peer, limit: 'max_connections', max: this.max, refused_since_last_line: this.unlogged },
          'connection refused: broker.limits.max_connections reached',
        );
        this.lastLogAt = now;
        this.unlogged = 0;
      }
      return false;
    }
    this.count++;
    let counted = true;
    const release = () => {
      if (!counted) return;
      counted = false;
      this.count--;
    };
    stream.once('close', release);
    if (stream.destroyed) release();
    return true;
  }
}

export type SubscribeLimit = 'topic_too_long' | 'max_subscriptions';

/**
 * Whether granting `filter` to a client holding `granted` would break a limit. Renewing a filter
 * the client already holds adds no subscription (MQTT-3.8.4-3 replaces it).
 */
export function subscribeLimitExceeded(
  filter: string,
  granted: ReadonlyMap<string, unknown>,
  limits: Pick<ClientLimits, 'maxTopicLength' | 'maxSubscriptions'>,
): SubscribeLimit | null {
  if (topicTooLong(filter, limits.maxTopicLength)) return 'topic_too_long';
  if (!granted.has(filter) && granted.size >= limits.maxSubscriptions) return 'max_subscriptions';
  return null;
}

/** Whether a topic name or filter is longer than the limit, in UTF-8 bytes. */
export function topicTooLong(topic: string, maxTopicLength: number): boolean {
  // Characters are at most 3 UTF-8 bytes each (4 for a surrogate pair of 2): a cheap pre-check.
  return topic.length * 3 > maxTopicLength && Buffer.byteLength(topic, 'utf8') > maxTopicLength;
}
