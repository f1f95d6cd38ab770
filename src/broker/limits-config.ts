// The convict schema of broker.limits and broker.login (src/config.ts puts them in its broker
// block); defaults come from client-limits.ts, options.ts and login-limiter.ts, ranges from the MQTT spec.
import { integer } from '../config/formats.js';
import { CONTRACT_MINIMUMS, DEFAULT_CLIENT_LIMITS } from './client-limits.js';
import { DEFAULT_LOGIN_LIMITS } from './login-limiter.js';
import { DEFAULT_BROKER_LIMITS } from './options.js';

/** A convict format for an integer in [min, max] (strict: src/config/formats.ts). */
const intFormat = integer;

// MQTT 3.1.1 section 2.2.3: a remaining length of at most 268,435,455, plus up to 5 header bytes.
const MQTT_MAX_PACKET_BYTES = 268_435_460;
// MQTT 3.1.1 section 2.3.1: packet identifiers are 1..65535.
const MQTT_PACKET_IDS = 65_535;
// MQTT-1.5.3: a UTF-8 string (a topic) is at most 65535 bytes.
const MQTT_MAX_STRING_BYTES = 65_535;
// The subscription matcher aedes uses (qlobber) stops at 100 levels.
const QLOBBER_MAX_LEVELS = 100;
const DAY_MS = 86_400_000;
// Ten years: longer is never meant.
const MAX_SESSION_EXPIRY_S = 10 * 365 * 86_400;

type EnvName = (path: string) => string;

export function brokerLimitsSchema(env: EnvName) {
  return {
    max_connections: {
      doc: 'Open MQTT connections across all listeners; more are closed at once, before CONNECT.',
      format: intFormat(1, 1_000_000),
      default: DEFAULT_CLIENT_LIMITS.maxConnections,
      env: env('broker.limits.max_connections'),
    },
    max_packet_bytes: {
      doc: 'Largest MQTT packet accepted, header included; a larger one closes the connection.',
      format: intFormat(1024, MQTT_MAX_PACKET_BYTES),
      default: DEFAULT_BROKER_LIMITS.maxPacketBytes,
      env: env('broker.limits.max_packet_bytes'),
    },
    max_inflight: {
      doc: 'QoS 1/2 messages sent to one client and not yet acknowledged; one more closes the connection.',
      format: intFormat(1, MQTT_PACKET_IDS),
      default: DEFAULT_CLIENT_LIMITS.maxInflight,
      env: env('broker.limits.max_inflight'),
    },
    max_topic_levels: {
      doc: 'Levels of a topic name or filter; more close the connection.',
      format: intFormat(CONTRACT_MINIMUMS.maxTopicLevels, QLOBBER_MAX_LEVELS),
      // DEFAULT_BROKER_LIMITS.maxTopicLevels
      default: 32,
      env: env('broker.limits.max_topic_levels'),
    },
    max_topic_length: {
      doc: 'Bytes of a PUBLISH topic (longer: connection closed) or SUBSCRIBE filter (longer: SUBACK 0x80).',
      format: intFormat(CONTRACT_MINIMUMS.maxTopicLength, MQTT_MAX_STRING_BYTES),
      default: DEFAULT_CLIENT_LIMITS.maxTopicLength,
      env: env('broker.limits.max_topic_length'),
    },
    max_subscriptions: {
      doc: 'Subscriptions one client holds; filters beyond it get SUBACK 0x80.',
      format: intFormat(1, 100_000),
      default: DEFAULT_CLIENT_LIMITS.maxSubscriptions,
      env: env('broker.limits.max_subscriptions'),
    },
    max_queued_messages: {
      doc: 'QoS 1/2 messages kept for one offline persistent session; newer ones are dropped; 0 = no limit.',
      format: intFormat(0, 10_000_000),
      default: DEFAULT_CLIENT_LIMITS.maxQueuedMessages,
      env: env('broker.limits.max_queued_messages'),
    },
    session_expiry_s: {
      doc: 'Seconds a disconnected persistent session (CleanSession=0) is kept; then it and its queued messages are removed; 0 = never.',
      format: intFormat(0, MAX_SESSION_EXPIRY_S),
      default: DEFAULT_CLIENT_LIMITS.sessionExpirySeconds,
      env: env('broker.limits.session_expiry_s'),
    },
    max_client_id_length: {
      doc: 'Bytes of a client identifier; a longer one gets CONNACK 2 (identifier rejected).',
      format: intFormat(CONTRACT_MINIMUMS.maxClientIdLength, MQTT_MAX_STRING_BYTES),
      default: DEFAULT_CLIENT_LIMITS.maxClientIdLength,
      env: env('broker.limits.max_client_id_length'),
    },
  };
}

export function brokerLoginSchema(env: EnvName) {
  return {
    max_failures_per_address: {
      doc: 'Failed logins from one address (IPv6: one /64) within window_ms that lock it out; 0 = never.',
      format: intFormat(0, 1_000_000),
      default: DEFAULT_LOGIN_LIMITS.maxFailuresPerAddress,
      env: env('broker.login.max_failures_per_address'),
    },
    max_failures_per_username: {
      doc: 'Failed logins for one username within window_ms that lock it out; 0 = never.',
      format: intFormat(0, 1_000_000),
      default: DEFAULT_LOGIN_LIMITS.maxFailuresPerUsername,
      env: env('broker.login.max_failures_per_username'),
    },
    window_ms: {
      doc: 'Sliding window in which failed logins are counted.',
      format: intFormat(1000, 7 * DAY_MS),
      default: DEFAULT_LOGIN_LIMITS.windowMs,
      env: env('broker.login.window_ms'),
    },
    lockout_ms: {
      doc: 'How long a lockout lasts; logins refused meanwhile neither extend nor renew it.',
      format: intFormat(1000, 7 * DAY_MS),
      default: DEFAULT_LOGIN_LIMITS.lockoutMs,
      env: env('broker.login.lockout_ms'),
    },
    max_tracked: {
      doc: 'Addresses, and separately usernames, whose failures are remembered; the oldest are forgotten first.',
      format: intFormat(100, 10_000_000),
      default: DEFAULT_LOGIN_LIMITS.maxTracked,
      env: env('broker.login.max_tracked'),
    },
  };
}
