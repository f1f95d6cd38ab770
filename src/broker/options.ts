// What a Broker is built from and what it hands back: options, limits, and the hooks the gateway
// plugs into it.
import type { TopicClass } from '../topics.js';
import type { AnonymousAccess, UserEntry } from './auth.js';
import { DEFAULT_CLIENT_LIMITS, type ClientLimits } from './client-limits.js';
import type { ListenerSettings } from './listeners.js';
import type { LoginLimiterOptions } from './login-limiter.js';
import type { DurableBrokerState } from './persistence/durable-state.js';
import type { SecurityEvent } from './security-event.js';

export const DEFAULT_BROKER_LIMITS = {
  // The topic contract needs 5 levels (topics.ts); generous for other traffic, far below qlobber's 100.
  maxTopicLevels: 32,
  // A connection that has not sent CONNECT by then is dropped (MQTT 3.1.1 section 3.1 leaves the
  // time to the server).
  connectTimeoutMs: 10_000,
  // A subscriber whose socket does not drain by then is disconnected instead of stalling delivery.
  drainTimeoutMs: 30_000,
  // MQTT 3.1.1 allows 256 MiB packets and aedes buffers a packet whole before parsing it; commands
  // are a few hundred bytes. Larger packets close the connection.
  maxPacketBytes: 1024 * 1024,
  // maxConnections, maxInflight, maxTopicLength, maxSubscriptions (client-limits.ts)
  ...DEFAULT_CLIENT_LIMITS,
} as const;

export interface BrokerLimits extends ClientLimits {
  maxTopicLevels: number;
  connectTimeoutMs: number;
  drainTimeoutMs: number;
  maxPacketBytes: number;
}

export interface BrokerOptions {
  host: string;
  /** 0 picks a free port; the bound one is `Broker.port` after start(). */
  port: number;
  anonymous: AnonymousAccess;
  users: UserEntry[];
  limits?: Partial<BrokerLimits>;
  /** Failed-login rate limit and lockout (login-limiter.ts); DEFAULT_LOGIN_LIMITS for what is absent. */
  login?: Partial<LoginLimiterOptions>;
  /** TLS and WebSocket listeners, and turning the TCP one (host, port) off; only TCP when absent. */
  listeners?: ListenerSettings;
  /**
   * Where persistent sessions, their queues, QoS 2 state, retained messages and wills are kept
   * across restarts (src/store/sqlite-broker-state.ts); in memory only when absent.
   */
  state?: DurableBrokerState;
}

/** The configured limits over the defaults; a key given as undefined keeps its default. */
export function effectiveLimits(given: Partial<BrokerLimits> = {}): BrokerLimits {
  const present = Object.entries(given).filter(([, value]) => value !== undefined);
  return { ...DEFAULT_BROKER_LIMITS, ...Object.fromEntries(present) };
}

export interface IncomingCommand {
  topic: string;
  kind: string;
  device: string;
  command: string;
  payload: Buffer;
  qos: 0 | 1 | 2;
  retain: boolean;
  dup: boolean;
  messageId?: number;
  clientId: string;
  username?: string;
  peer: string;
  authorized: boolean;
}

export interface BrokerHooks {
  /** classifyTopic from src/topics.ts, bound to the site by the caller. */
  classify(topic: string): TopicClass;
  /** Called synchronously from the publish path; must not throw. */
  onCommand(cmd: IncomingCommand): void;
  onSecurityEvent(e: SecurityEvent): void;
  /** Optional: each client PUBLISH after aedes routed it. Must not throw. */
  onPublished?(topic: string, payload: Buffer, retain: boolean, clientId: string): void;
  /**
   * Optional: a client PUBLISH (or will) the ACL allows, before it is routed or acknowledged. A
   * message gatehouse keeps beyond routing (the uplink's outbox) returns the promise of its commit:
   * the PUBACK (QoS 1) or PUBREC (QoS 2) waits for it, so an acknowledged message is on disk.
   * Must not throw; the promise must not reject.
   */
  keep?(topic: string, payload: Buffer, retain: boolean, clientId: string): Promise<void> | undefined;
}
