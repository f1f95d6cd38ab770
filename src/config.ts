// Configuration: one convict schema for the fixed sections, hand validation for the open ones
// (transports, devices, users). Loaded from YAML or JSON plus GATEHOUSE_* environment overrides,
// validated once with every problem reported (each naming its key path), then frozen.

import convict from 'convict';
import { accessSync, constants, readFileSync, statSync } from 'node:fs';
import { extname } from 'node:path';
import YAML from 'yaml';
import type { ConfigIssue } from './driver-api.js';
import { isValidId, parseCommandPattern } from './topics.js';
import { MAX_TTL_MS } from './commands/envelope.js';
import { parseFields, type FieldValues } from './config/fields.js';
import { isPasswordHash } from './broker/password.js';
import { validateTopicFilter } from './mqtt-topic.js';
import type { BrokerLimitsConfig, BrokerLoginConfig } from './broker/client-limits.js';
import { brokerLimitsSchema, brokerLoginSchema } from './broker/limits-config.js';
import type { TransportConfig } from './transport/registry.js';
import { builtinRegistries, commandCatalogOf, entryOf, type Registries } from './registries.js';
import { IDENTITY_SOURCES, type IdentitySource } from './broker/client-identity.js';
import { CLIENT_CERTIFICATE_POLICIES, type ClientCertificatePolicy } from './broker/listeners/certificates.js';
import { validateLinks, type LinkConfig } from './links/link-config.js';
import { BOOLEAN, NATURAL, PORT, POSITIVE_INT } from './config/formats.js';
import { suggestionFor } from './config/suggest.js';

export type { ConfigIssue } from './driver-api.js';

export interface UserConfig {
  username: string;
  password_hash: string;
  publish: string[];
  subscribe: string[];
}


export interface DeviceConfig {
  id: string;
  kind: string;
  name: string;
  driver: string;
  transport: string;
  poll_ms: number;
  offline_after: number;
  command_timeout_ms: number;
  /** Settings of the device's kind (gate: on_start, unlock_ms, ...), defaults applied. */
  settings: FieldValues;
  /** Driver options as the driver normalised them. */
  options: unknown;
}

export interface GatehouseConfig {
  site: string;
  gateway_id: string;
  data_dir: string;
  log: { level: string };
  broker: {
    host: string;
    port: number;
    /** The plain TCP listener on host:port (see validateBrokerListeners for tls and ws). */
    tcp_enabled: boolean;
    tls: BrokerTlsConfig;
    ws: BrokerWsConfig;
    anonymous: { enabled: boolean; publish: string[]; subscribe: string[] };
    /** Connection, packet, topic, subscription and in-flight limits (src/broker/limits-config.ts). */
    limits: BrokerLimitsConfig;
    /** Failed-login rate limit and lockout (src/broker/limits-config.ts). */
    login: BrokerLoginConfig;
    /** Where persistent sessions, their queues and retained messages are kept (docs/broker-state.md). */
    persistence: 'sqlite' | 'memory';
  };
  users: UserConfig[];
  commands: {
    timeout_ms: number;
    max_age_ms: number;
    clock_skew_ms: number;
    dedupe_window_ms: number;
    queue_limit: number;
  };
  journal: { retention_days: number; max_rows: number };
  /** Prometheus /metrics and /healthz over HTTP (src/metrics/). */
  metrics: { enabled: boolean; host: string; port: number; max_event_loop_lag_ms: number };
  uplink: UplinkConfig;
  transports: Record<string, TransportConfig>;
  devices: DeviceConfig[];
  /** Snapshot files kept per camera under {data_dir}/snapshots/{camera}/. */
  snapshots: { keep: number; max_bytes: number };
  /** Commands run when a device emits an event (src/links). */
  links: LinkConfig[];
}

/** The cloud uplink (issue 3); see validateUplink for the rules beyond each key's format. */
export interface UplinkConfig {
  enabled: boolean;
  url: string;
  /** MQTT 3.1.1 (the default) or MQTT 5. */
  protocol: '3.1.1' | '5';
  /** `gatehouse-{site}-{gateway_id}` when not configured. */
  client_id: string;
  username: string;
  password: string;
  password_file: string;
  tls: { ca: string; cert: string; key: string };
  keepalive_s: number;
  connect_timeout_ms: number;
  forward: string[];
  allow_commands: string[];
  inflight: number;
  max_messages: number;
  max_bytes: number;
  backoff: { initial_ms: number; max_ms: number };
  synchronous: 'FULL' | 'NORMAL';
  flush_on_stop_ms: number;
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

convict.addFormat({
  name: 'id',
  validate(value: unknown) {
    if (!isValidId(value)) throw new Error('must be 1 to 64 of a-z 0-9 _ -');
  },
});
convict.addFormat({
  name: 'filter-list',
  validate(value: unknown) {
    if (!Array.isArray(value)) throw new Error('must be a list of MQTT topic filters');
    const bad = value.map((f) => (typeof f === 'string' ? validateTopicFilter(f) : 'not a string')).findIndex((e) => e);
    if (bad >= 0) throw new Error(`entry ${bad} (${JSON.stringify(value[bad])}) is not a valid MQTT topic filter`);
  },
});

convict.addFormat({
  name: 'uplink-protocol',
  validate(value: unknown) {
    // A bare 5 is what YAML makes of `protocol: 5`; 3.1.1 is only ever a string.
    // convict appends ": value was ..." itself, but only for truthy values.
    if (value !== '3.1.1' && value !== '5' && value !== 5) throw new Error(`must be "3.1.1" or "5"${value ? '' : `, not ${JSON.stringify(value)}`}`);
  },
});


convict.addFormat({
  name: 'command-allow-list',
  validate(value: unknown) {
    if (!Array.isArray(value)) throw new Error('must be a list of "kind/command" entries ("*" for any kind or command)');
    const bad = value.findIndex((e) => typeof e !== 'string' || !parseCommandPattern(e));
    if (bad >= 0) throw new Error(`entry ${bad} (${JSON.stringify(value[bad])}) is not "kind/command" ("gate/unlock", "turnstile/*", "*/lock")`);
  },
});

const envName = (path: string) => `GATEHOUSE_${path.toUpperCase().replace(/\./g, '_')}`;
const env = envName;
/** Sections validated by hand, beside the convict schema. */
const OPEN_SECTIONS = ['users', 'transports', 'devices', 'links'];

function schema() {
  return {
    site: { doc: 'Site id: the {site} of every topic.', format: 'id', default: null as unknown as string, env: env('site') },
    gateway_id: { doc: 'This gateway\'s id under site/{site}/gateway/.', format: 'id', default: 'gatehouse', env: env('gateway_id') },
    data_dir: { doc: 'Directory of the SQLite database.', format: String, default: './data', env: env('data_dir') },
    log: {
      level: { doc: 'pino log level.', format: LOG_LEVELS, default: 'info', env: env('log.level') },
    },
    broker: {
      host: { doc: 'Address the MQTT TCP listener binds.', format: String, default: '0.0.0.0', env: env('broker.host') },
      port: { doc: 'MQTT TCP port; 0 picks a free one.', format: PORT, default: 1883, env: env('broker.port') },
      tcp_enabled: { doc: 'Serve plain MQTT over TCP on broker.host:broker.port.', format: BOOLEAN, default: true, env: env('broker.tcp_enabled') },
      tls: {
        enabled: { doc: 'Serve MQTT over TLS.', format: BOOLEAN, default: false, env: env('broker.tls.enabled') },
        host: { doc: 'Address the MQTT TLS listener binds.', format: String, default: '0.0.0.0', env: env('broker.tls.host') },
        port: { doc: 'MQTT TLS port; 0 picks a free one.', format: PORT, default: 8883, env: env('broker.tls.port') },
        cert: { doc: 'PEM server certificate (chain may follow); also used by broker.ws.tls.', format: String, default: '', env: env('broker.tls.cert') },
        key: { doc: 'PEM private key of the server certificate (unencrypted).', format: String, default: '', env: env('broker.tls.key') },
        ca: { doc: 'PEM CA certificate(s) that client certificates must chain to.', format: String, default: '', env: env('broker.tls.ca') },
        client_certificates: { doc: 'Client certificates: off, optional (verified when sent) or required.', format: [...CLIENT_CERTIFICATE_POLICIES], default: 'off', env: env('broker.tls.client_certificates') },
        identity_from: { doc: 'Certificate field naming the user: cn, san_dns, san_email or san_uri.', format: [...IDENTITY_SOURCES], default: 'cn', env: env('broker.tls.identity_from') },
      },
      ws: {
        enabled: { doc: 'Serve MQTT over WebSocket.', format: BOOLEAN, default: false, env: env('broker.ws.enabled') },
        host: { doc: 'Address the MQTT WebSocket listener binds.', format: String, default: '0.0.0.0', env: env('broker.ws.host') },
        port: { doc: 'MQTT WebSocket port; 0 picks a free one.', format: PORT, default: 8083, env: env('broker.ws.port') },
        path: { doc: 'HTTP path of the WebSocket endpoint.', format: String, default: '/mqtt', env: env('broker.ws.path') },
        tls: { doc: 'WebSocket over TLS (wss), with the broker.tls certificate, key, CA and client-certificate policy.', format: BOOLEAN, default: false, env: env('broker.ws.tls') },
      },
      anonymous: {
        enabled: { doc: 'Allow clients without a username.', format: BOOLEAN, default: false, env: env('broker.anonymous.enabled') },
        publish: { doc: 'Topic filters anonymous clients may publish to.', format: 'filter-list', default: [] as string[] },
        subscribe: { doc: 'Topic filters anonymous clients may subscribe to.', format: 'filter-list', default: [] as string[] },
      },
      limits: brokerLimitsSchema(env),
      login: brokerLoginSchema(env),
      persistence: {
        doc: 'sqlite: persistent sessions, their queued messages, retained messages and wills survive a restart (in data_dir\'s database); memory: they are lost at every restart.',
        format: ['sqlite', 'memory'],
        default: 'sqlite',
        env: env('broker.persistence'),
      },
    },
    commands: {
      timeout_ms: { doc: 'Time from acceptance to a command\'s terminal result.', format: POSITIVE_INT, default: 5000, env: env('commands.timeout_ms') },
      max_age_ms: { doc: 'Default ttl for commands that carry sent_at but no ttl_ms.', format: POSITIVE_INT, default: 30_000, env: env('commands.max_age_ms') },
      clock_skew_ms: { doc: 'Allowance for clients\' clocks.', format: NATURAL, default: 2000, env: env('commands.clock_skew_ms') },
      dedupe_window_ms: { doc: 'How long a command id is remembered.', format: POSITIVE_INT, default: 86_400_000, env: env('commands.dedupe_window_ms') },
      queue_limit: { doc: 'Commands waiting per device before new ones get `busy`.', format: POSITIVE_INT, default: 16, env: env('commands.queue_limit') },
    },
    snapshots: {
      keep: { doc: 'Snapshot files kept per camera under {data_dir}/snapshots/{camera}/; older ones are deleted.', format: POSITIVE_INT, default: 20, env: env('snapshots.keep') },
      max_bytes: { doc: 'Bytes of snapshot files kept per camera (20 MiB by default).', format: POSITIVE_INT, default: 20 * 1024 * 1024, env: env('snapshots.max_bytes') },
    },
    journal: {
      retention_days: { doc: 'Days of audit journal kept.', format: POSITIVE_INT, default: 90, env: env('journal.retention_days') },
      max_rows: { doc: 'Audit journal entries kept at most (the oldest go first); on disk about 100 bytes per event, 250 per command.', format: POSITIVE_INT, default: 1_000_000, env: env('journal.max_rows') },
    },
    metrics: {
      enabled: { doc: 'Serve Prometheus /metrics and /healthz over HTTP.', format: BOOLEAN, default: true, env: env('metrics.enabled') },
      host: { doc: 'Address the metrics HTTP server binds; it has no authentication, so beyond loopback a warning is logged.', format: String, default: '127.0.0.1', env: env('metrics.host') },
      port: { doc: 'Metrics HTTP port; 0 picks a free one.', format: PORT, default: 9464, env: env('metrics.port') },
      max_event_loop_lag_ms: { doc: '/healthz answers 503 when the event loop was blocked longer than this in the last 5 to 10 s.', format: POSITIVE_INT, default: 1000, env: env('metrics.max_event_loop_lag_ms') },
    },
    uplink: {
      enabled: { doc: 'Connect to the operator\'s cloud broker.', format: BOOLEAN, default: false, env: env('uplink.enabled') },
      url: { doc: 'mqtt://host:port or mqtts://host:port of the cloud broker.', format: String, default: '', env: env('uplink.url') },
      protocol: { doc: 'MQTT version of the cloud link: "3.1.1" or "5".', format: 'uplink-protocol', default: '3.1.1' as '3.1.1' | '5', env: env('uplink.protocol') },
      client_id: { doc: 'MQTT client id on the cloud broker (default gatehouse-{site}-{gateway_id}).', format: String, default: '', env: env('uplink.client_id') },
      username: { doc: 'MQTT username on the cloud broker.', format: String, default: '', env: env('uplink.username') },
      password: { doc: 'MQTT password on the cloud broker.', format: String, default: '', sensitive: true, env: env('uplink.password') },
      password_file: { doc: 'File holding the password (trailing newline ignored).', format: String, default: '', env: env('uplink.password_file') },
      tls: {
        ca: { doc: 'PEM file of the CA that signed the broker\'s certificate (mqtts).', format: String, default: '', env: env('uplink.tls.ca') },
        cert: { doc: 'PEM client certificate for mutual TLS.', format: String, default: '', env: env('uplink.tls.cert') },
        key: { doc: 'PEM private key of the client certificate.', format: String, default: '', env: env('uplink.tls.key') },
      },
      keepalive_s: { doc: 'MQTT keep alive, seconds.', format: POSITIVE_INT, default: 30, env: env('uplink.keepalive_s') },
      connect_timeout_ms: { doc: 'Time allowed for TCP, TLS and CONNACK.', format: POSITIVE_INT, default: 10_000, env: env('uplink.connect_timeout_ms') },
      forward: { doc: 'Local topic filters whose messages are also sent to the cloud.', format: 'filter-list', default: [] as string[] },
      allow_commands: { doc: 'Commands the cloud may send, as kind/command ("*" for any).', format: 'command-allow-list', default: [] as string[] },
      inflight: { doc: 'Messages sent to the cloud and not yet acknowledged, at most.', format: POSITIVE_INT, default: 20, env: env('uplink.inflight') },
      max_messages: { doc: 'Outbox bound in messages.', format: POSITIVE_INT, default: 1_000_000, env: env('uplink.max_messages') },
      max_bytes: { doc: 'Outbox bound in bytes (topics and payloads).', format: POSITIVE_INT, default: 268_435_456, env: env('uplink.max_bytes') },
      backoff: {
        initial_ms: { doc: 'First reconnect delay.', format: POSITIVE_INT, default: 1000, env: env('uplink.backoff.initial_ms') },
        max_ms: { doc: 'Longest reconnect delay.', format: POSITIVE_INT, default: 60_000, env: env('uplink.backoff.max_ms') },
      },
      synchronous: { doc: 'SQLite synchronous for outbox writes: FULL or NORMAL.', format: ['FULL', 'NORMAL'], default: 'FULL', env: env('uplink.synchronous') },
      flush_on_stop_ms: { doc: 'How long a clean stop waits for the outbox to drain.', format: NATURAL, default: 5000, env: env('uplink.flush_on_stop_ms') },
    },
  };
}

function checkReadableFile(path: string, key: string, issues: ConfigIssue[]): void {
  try {
    if (!statSync(path).isFile()) return void issues.push({ path: key, message: `${path} is not a file` });
    accessSync(path, constants.R_OK);
  } catch (err) {
    issues.push({ path: key, message: `cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` });
  }
}

export interface BrokerTlsConfig {
  enabled: boolean;
  host: string;
  port: number;
  cert: string;
  key: string;
  ca: string;
  client_certificates: ClientCertificatePolicy;
  identity_from: IdentitySource;
}

export interface BrokerWsConfig {
  enabled: boolean;
  host: string;
  port: number;
  path: string;
  tls: boolean;
}

const WILDCARD_HOSTS = new Set(['0.0.0.0', '::', '']);

/**
 * Rules across the broker's listener keys. broker.ws.tls uses the broker.tls files and
 * client-certificate policy even when the TLS listener itself is disabled; files are checked only
 * when some listener serves TLS.
 */
function validateBrokerListeners(broker: GatehouseConfig['broker'], issues: ConfigIssue[]): void {
  const { tls, ws } = broker;
  if (!broker.tcp_enabled && !tls.enabled && !ws.enabled) {
    issues.push({ path: 'broker.tcp_enabled', message: 'no listener is enabled: enable broker.tcp_enabled, broker.tls.enabled or broker.ws.enabled' });
  }
  const secureWs = ws.enabled && ws.tls;
  if (tls.enabled || secureWs) {
    const because = tls.enabled ? 'broker.tls.enabled is true' : 'broker.ws.tls is true';
    for (const key of ['cert', 'key'] as const) {
      if (!tls[key]) issues.push({ path: `broker.tls.${key}`, message: `required when ${because}` });
      else checkReadableFile(tls[key], `broker.tls.${key}`, issues);
    }
    if (tls.ca) checkReadableFile(tls.ca, 'broker.tls.ca', issues);
  }
  if ((tls.client_certificates === 'optional' || tls.client_certificates === 'required') && !tls.ca) {
    issues.push({ path: 'broker.tls.ca', message: `required when broker.tls.client_certificates is ${tls.client_certificates} (the CA client certificates must chain to)` });
  }
  if (!ws.path.startsWith('/') || /[\s?#]/.test(ws.path)) {
    issues.push({ path: 'broker.ws.path', message: `must be an HTTP path starting with "/" without spaces, "?" or "#", got ${JSON.stringify(ws.path)}` });
  }
  const bound = [
    { key: 'broker.port', enabled: broker.tcp_enabled, host: broker.host, port: broker.port },
    { key: 'broker.tls.port', enabled: tls.enabled, host: tls.host, port: tls.port },
    { key: 'broker.ws.port', enabled: ws.enabled, host: ws.host, port: ws.port },
  ].filter((l) => l.enabled && l.port !== 0);
  bound.forEach((listener, i) => {
    const clash = bound.slice(0, i).find((o) => o.port === listener.port && (o.host === listener.host || WILDCARD_HOSTS.has(o.host) || WILDCARD_HOSTS.has(listener.host)));
    if (clash) issues.push({ path: listener.key, message: `port ${listener.port} is also ${clash.key}; each listener needs its own port` });
  });
}

/** Rules across uplink keys; files are checked only when the uplink is enabled. */
function validateUplink(uplink: UplinkConfig, site: string, gatewayId: string, kindRegistry: Registries['kinds'], issues: ConfigIssue[]): UplinkConfig {
  const result: UplinkConfig = { ...uplink, protocol: String(uplink.protocol) as UplinkConfig['protocol'], client_id: uplink.client_id || `gatehouse-${site}-${gatewayId}` };
  let secure = false;
  if (uplink.url === '') {
    if (uplink.enabled) issues.push({ path: 'uplink.url', message: 'required when uplink.enabled is true (mqtt://host:port or mqtts://host:port)' });
  } else {
    let url: URL | undefined;
    try {
      url = new URL(uplink.url);
    } catch {
      issues.push({ path: 'uplink.url', message: `${JSON.stringify(uplink.url)} is not a URL (mqtt://host:port or mqtts://host:port)` });
    }
    if (url) {
      secure = url.protocol === 'mqtts:';
      if (url.protocol !== 'mqtt:' && url.protocol !== 'mqtts:') issues.push({ path: 'uplink.url', message: `scheme must be mqtt: or mqtts:, not ${url.protocol}` });
      else if (!url.hostname) issues.push({ path: 'uplink.url', message: 'has no host' });
      if (url.username || url.password) issues.push({ path: 'uplink.url', message: 'must not carry credentials; use uplink.username and uplink.password or uplink.password_file' });
      if ((url.pathname && url.pathname !== '/') || url.search || url.hash) issues.push({ path: 'uplink.url', message: 'must be scheme://host:port with nothing after the port' });
    }
  }
  if (uplink.password && uplink.password_file) issues.push({ path: 'uplink.password_file', message: 'give uplink.password or uplink.password_file, not both' });
  // MQTT 3.1.1 section 3.1.2.9 (MQTT-3.1.2-22): no password without a user name.
  if ((uplink.password || uplink.password_file) && !uplink.username) issues.push({ path: 'uplink.username', message: 'required when a password is given (MQTT 3.1.1 section 3.1.2.9)' });
  if (Buffer.byteLength(result.client_id, 'utf8') > 65_535) issues.push({ path: 'uplink.client_id', message: 'longer than 65535 bytes (MQTT 3.1.1 section 1.5.3)' });
  for (const key of ['ca', 'cert', 'key'] as const) {
    if (uplink.tls[key] && uplink.url && !secure) issues.push({ path: `uplink.tls.${key}`, message: 'only used with an mqtts:// url' });
  }
  if (Boolean(uplink.tls.cert) !== Boolean(uplink.tls.key)) {
    issues.push({ path: uplink.tls.cert ? 'uplink.tls.key' : 'uplink.tls.cert', message: 'a client certificate needs both uplink.tls.cert and uplink.tls.key' });
  }
  if (uplink.backoff.max_ms < uplink.backoff.initial_ms) issues.push({ path: 'uplink.backoff.max_ms', message: `must be at least uplink.backoff.initial_ms (${uplink.backoff.initial_ms})` });
  // MQTT 3.1.1 section 2.3.1: 65535 packet identifiers at most can be in use.
  if (uplink.inflight > 65_535) issues.push({ path: 'uplink.inflight', message: 'must be at most 65535 (MQTT packet identifiers)' });
  const catalog = commandCatalogOf(kindRegistry);
  uplink.allow_commands.forEach((entry, i) => {
    const { kind, command } = parseCommandPattern(entry)!;
    if (kind !== '*' && !Object.hasOwn(catalog, kind)) {
      issues.push({ path: `uplink.allow_commands[${i}]`, message: `unknown kind ${JSON.stringify(kind)} (known: ${Object.keys(catalog).join(', ')})` });
    } else if (command !== '*') {
      const kinds = kind === '*' ? Object.keys(catalog) : [kind];
      if (!kinds.some((k) => catalog[k].includes(command))) {
        issues.push({ path: `uplink.allow_commands[${i}]`, message: kind === '*' ? `no kind has a command ${JSON.stringify(command)}` : `a ${kind} has no command ${JSON.stringify(command)}` });
      }
    }
  });
  if (uplink.enabled) {
    if (uplink.password_file) checkReadableFile(uplink.password_file, 'uplink.password_file', issues);
    for (const key of ['ca', 'cert', 'key'] as const) if (uplink.tls[key]) checkReadableFile(uplink.tls[key], `uplink.tls.${key}`, issues);
  }
  return result;
}

/**
 * Turn convict's one multi-line error into issues that each name a key path, and the environment
 * variable when the value came from one (a technician looking at the file would not find it there).
 */
function convictIssues(message: string, env: NodeJS.ProcessEnv): ConfigIssue[] {
  return message
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const undeclared = /^configuration param '(.+)' not declared in the schema$/.exec(line);
      if (undeclared) return unknownKeyIssue(undeclared[1]);
      const at = line.indexOf(': ');
      if (at <= 0) return { path: '(config)', message: line };
      const path = line.slice(0, at);
      // Our formats name the value themselves (", got ..."); convict appends it once more.
      const full = line.slice(at + 2);
      const text = /, got /.test(full) ? full.replace(/: value was .*$/, '') : full;
      const variable = envName(path);
      return { path, message: env[variable] !== undefined ? `${text} (from the environment variable ${variable})` : text };
    });
}

/**
 * An unknown key in a fixed section, reported at its first unknown level (convict names the leaf:
 * `comands.timeout_ms` is reported as `comands`), with the nearest known key when it looks like a typo.
 */
function unknownKeyIssue(path: string): ConfigIssue {
  const parts = path.split('.');
  let node: unknown = schema();
  for (let i = 0; i < parts.length; i++) {
    const known = isPlainObject(node) ? Object.keys(node).filter((k) => isPlainObject((node as Record<string, unknown>)[k])) : [];
    if (!known.includes(parts[i])) {
      const candidates = i === 0 ? [...known, ...OPEN_SECTIONS] : known;
      return { path: parts.slice(0, i + 1).join('.'), message: `unknown key${suggestionFor(parts[i], candidates)}` };
    }
    node = (node as Record<string, unknown>)[parts[i]];
  }
  return { path, message: 'unknown key' };
}

/** One issue per path: several unknown leaves under one misspelt section are one problem. */
function uniqueIssues(issues: ConfigIssue[]): ConfigIssue[] {
  const seen = new Set<string>();
  return issues.filter((i) => {
    const key = `${i.path}\n${i.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function validateUsers(raw: unknown[], issues: ConfigIssue[]): UserConfig[] {
  const users: UserConfig[] = [];
  const seen = new Set<string>();
  const userKeys = ['username', 'password_hash', 'publish', 'subscribe'];
  raw.forEach((entry, i) => {
    if (!isPlainObject(entry)) return issues.push({ path: `users[${i}]`, message: 'must be an object' });
    const { username, password_hash, publish = [], subscribe = [] } = entry;
    // A user is named by username where it is a plain one: `users[guard].password_hash`.
    const path = typeof username === 'string' && /^[A-Za-z0-9_.@-]{1,64}$/.test(username) && !seen.has(username) ? `users[${username}]` : `users[${i}]`;
    for (const key of Object.keys(entry)) {
      if (!userKeys.includes(key)) issues.push({ path: `${path}.${key}`, message: `unknown key${suggestionFor(key, userKeys)} (allowed: ${userKeys.join(', ')})` });
    }
    if (typeof username !== 'string' || username.length === 0 || username.length > 128) {
      issues.push({ path: `${path}.username`, message: 'must be a non-empty string of at most 128 characters' });
    } else if (seen.has(username)) {
      issues.push({ path: `${path}.username`, message: `duplicate user ${JSON.stringify(username)}` });
    } else seen.add(username);
    if (typeof password_hash !== 'string' || !isPasswordHash(password_hash)) {
      issues.push({ path: `${path}.password_hash`, message: 'must be a hash printed by `gatehouse passwd` (plaintext passwords are not accepted)' });
    }
    const lists = { publish, subscribe };
    for (const [key, list] of Object.entries(lists)) {
      if (!Array.isArray(list)) {
        issues.push({ path: `${path}.${key}`, message: 'must be a list of MQTT topic filters' });
        continue;
      }
      list.forEach((f, j) => {
        const problem = typeof f === 'string' ? validateTopicFilter(f) : 'must be a string';
        if (problem) issues.push({ path: `${path}.${key}[${j}]`, message: `${JSON.stringify(f)}: ${problem}` });
      });
    }
    users.push({ username: username as string, password_hash: password_hash as string, publish: publish as string[], subscribe: subscribe as string[] });
  });
  return users;
}

/** `transports.<name>`: each entry validated by the definition its `type` names. */
function validateTransports(raw: Record<string, unknown>, registry: Registries['transports'], issues: ConfigIssue[]): Record<string, TransportConfig> {
  const transports: Record<string, TransportConfig> = {};
  for (const [name, entry] of Object.entries(raw)) {
    const path = `transports.${name}`;
    if (!isValidId(name)) issues.push({ path, message: 'transport names must be 1 to 64 of a-z 0-9 _ -' });
    if (!isPlainObject(entry)) {
      issues.push({ path, message: 'must be an object with a `type`' });
      continue;
    }
    const definition = typeof entry.type === 'string' && Object.hasOwn(registry, entry.type) ? registry[entry.type] : undefined;
    if (!definition) {
      issues.push({ path: `${path}.type`, message: unknownName('transport type', entry.type, Object.keys(registry)) });
      continue;
    }
    transports[name] = definition.parse(entry, path, issues) as TransportConfig;
  }
  return transports;
}

function ordinal(index: number): string {
  const n = index + 1;
  const suffix = n % 100 >= 11 && n % 100 <= 13 ? 'th' : (['th', 'st', 'nd', 'rd'][n % 10] ?? 'th');
  return `${n}${suffix}`;
}

function unknownName(what: string, value: unknown, known: string[]): string {
  const hint = typeof value === 'string' ? suggestionFor(value, known) : '';
  return `unknown ${what} ${JSON.stringify(value)}${hint} (known: ${known.join(', ')})`;
}

const DEVICE_COMMON = ['id', 'kind', 'name', 'driver', 'transport', 'poll_ms', 'offline_after', 'command_timeout_ms', 'options'];

function validateDevices(
  raw: unknown[],
  registries: Registries,
  transports: Record<string, TransportConfig>,
  rawTransports: Record<string, unknown>,
  defaultTimeoutMs: number,
  issues: ConfigIssue[],
): DeviceConfig[] {
  const devices: DeviceConfig[] = [];
  const seen = new Map<string, number>();
  raw.forEach((entry, i) => {
    if (!isPlainObject(entry)) return issues.push({ path: `devices[${i}]`, message: 'must be an object' });
    const { id, kind: kindName, driver: driverName, transport, name, options = {} } = entry;
    // A device is named by its id where it has a usable one: `devices[main-gate].transport`.
    const path = isValidId(id) && !seen.has(id) ? `devices[${id}]` : `devices[${i}]`;
    if (!isValidId(id)) issues.push({ path: `${path}.id`, message: `must be 1 to 64 of a-z 0-9 _ -, got ${JSON.stringify(id)}` });
    else if (seen.has(id)) issues.push({ path: `${path}.id`, message: `duplicate device id ${JSON.stringify(id)} (also the ${ordinal(seen.get(id)!)} device)` });
    else seen.set(id, i);
    if (name !== undefined && typeof name !== 'string') issues.push({ path: `${path}.name`, message: 'must be a string' });

    const kind = entryOf(registries.kinds, kindName);
    if (!kind) issues.push({ path: `${path}.kind`, message: unknownName('kind', kindName, Object.keys(registries.kinds)) });
    const driver = entryOf(registries.drivers, driverName);
    if (!driver) issues.push({ path: `${path}.driver`, message: unknownName('driver', driverName, Object.keys(registries.drivers)) });
    if (typeof transport !== 'string' || !Object.hasOwn(rawTransports, transport)) {
      const defined = Object.keys(rawTransports);
      const hint = typeof transport === 'string' ? suggestionFor(transport, defined) : '';
      issues.push({ path: `${path}.transport`, message: `no transport named ${JSON.stringify(transport)}${hint} (defined: ${defined.join(', ') || 'none'})` });
    } else if (driver && transports[transport] && !driver.transports.includes(transports[transport].type)) {
      issues.push({ path: `${path}.transport`, message: `driver ${driver.name} cannot run over a ${transports[transport].type} transport` });
    }
    const missingActions = kind && driver ? (kind.actions ?? []).filter((a) => !(driver.actions ?? []).includes(a)) : [];
    if (missingActions.length > 0) {
      issues.push({ path: `${path}.driver`, message: `driver ${driver!.name} cannot run a ${kind!.name} (it lacks ${missingActions.join(', ')})` });
    }

    const common = parseFields(
      Object.fromEntries(Object.entries(entry).filter(([k]) => ['poll_ms', 'offline_after', 'command_timeout_ms'].includes(k))),
      {
        poll_ms: { type: 'int', min: 50, max: 3_600_000, default: 1000 },
        offline_after: { type: 'int', min: 1, max: 1000, default: 3 },
        command_timeout_ms: { type: 'int', min: 100, max: 600_000, default: defaultTimeoutMs },
      },
    );
    for (const p of common.problems) issues.push({ path: `${path}.${p.key}`, message: p.message });

    let settings: FieldValues = {};
    if (kind) {
      const kindKeys = Object.fromEntries(Object.entries(entry).filter(([k]) => !DEVICE_COMMON.includes(k)));
      const parsed = parseFields(kindKeys, kind.settings);
      for (const p of parsed.problems) {
        const allowed = [...DEVICE_COMMON, ...Object.keys(kind.settings)];
        const message = p.message.startsWith('unknown key')
          ? `unknown key for a ${kind.name}${suggestionFor(p.key, allowed)} (allowed: ${allowed.join(', ')})`
          : p.message;
        issues.push({ path: `${path}.${p.key}`, message });
      }
      settings = parsed.values;
      // The kind's cross-field checks (gate: unlock_ms <= max_unlock_ms); a setting with a problem above is absent here.
      for (const p of kind.check(settings)) issues.push({ path: `${path}.${p.key}`, message: p.message });
    }
    let parsedOptions: unknown;
    if (kind && driver) {
      const result = driver.parseOptions(options, kind.points, `${path}.options`);
      issues.push(...result.issues);
      parsedOptions = result.options;
    }
    const transportConfig = typeof transport === 'string' ? transports[transport] : undefined;
    if (transportConfig && parsedOptions !== undefined) {
      for (const problem of registries.transports[transportConfig.type].checkDevice?.(transportConfig, parsedOptions) ?? []) {
        issues.push({ path: `${path}.${problem.key}`, message: problem.message });
      }
    }
    devices.push({
      id: id as string,
      kind: kindName as string,
      name: typeof name === 'string' ? name : (id as string),
      driver: driverName as string,
      transport: transport as string,
      poll_ms: common.values.poll_ms as number,
      offline_after: common.values.offline_after as number,
      command_timeout_ms: common.values.command_timeout_ms as number,
      settings,
      options: parsedOptions,
    });
  });
  return devices;
}

export interface LoadOptions {
  /** Path of a YAML or JSON file. */
  file?: string;
  /** An already parsed document (the demo passes its embedded config this way). */
  document?: unknown;
  /** Values that win over the file and the environment, e.g. from --data-dir. */
  overrides?: { data_dir?: string };
  env?: NodeJS.ProcessEnv;
  /** The kinds, drivers and transports a config may name (the shipped ones by default). */
  registries?: Registries;
}

export type LoadResult = { ok: true; config: Readonly<GatehouseConfig> } | { ok: false; issues: ConfigIssue[] };

export function parseConfigDocument(text: string, fileName: string): unknown {
  if (extname(fileName).toLowerCase() === '.json') return JSON.parse(text);
  return YAML.parse(text, { uniqueKeys: true, prettyErrors: true });
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

export function loadConfig(opts: LoadOptions): LoadResult {
  let document = opts.document;
  if (opts.file !== undefined) {
    try {
      document = parseConfigDocument(readFileSync(opts.file, 'utf8'), opts.file);
    } catch (err) {
      return { ok: false, issues: [{ path: opts.file, message: `cannot read config: ${(err as Error).message}` }] };
    }
  }
  if (document === null || document === undefined) document = {};
  if (!isPlainObject(document)) return { ok: false, issues: [{ path: '(root)', message: 'the config must be a mapping of keys' }] };

  const issues: ConfigIssue[] = [];
  // The open sections (lists and maps of user-named entries) are validated by hand below.
  const { users: rawUsers = [], transports: rawTransports = {}, devices: rawDevices = [], links: rawLinks = [], ...fixed } = document;
  const environment = opts.env ?? process.env;
  const c = convict(schema(), { env: environment, args: [] });
  try {
    c.load(fixed);
    if (opts.overrides?.data_dir) c.set('data_dir', opts.overrides.data_dir);
    c.validate({ allowed: 'strict' });
  } catch (err) {
    const refused = uniqueIssues(convictIssues((err as Error).message, environment));
    issues.push(...refused);
    // Rules across keys only make sense over valid values: a refused value is read as its default
    // by them (a refused `enabled: no` must not count as on and ask for what an enabled uplink needs).
    const settable = c as unknown as { default(path: string): unknown; set(path: string, value: unknown): void };
    for (const { path, message } of refused) {
      if (message.startsWith('unknown key')) continue;
      try {
        settable.set(path, settable.default(path));
      } catch {
        // not a key of the schema: nothing to read as default
      }
    }
  }
  const raw = c.getProperties() as unknown as Record<string, unknown>;
  const commands = raw.commands as GatehouseConfig['commands'];

  const userList = Array.isArray(rawUsers) ? rawUsers : (issues.push({ path: 'users', message: 'must be a list' }), []);
  const transportMap = isPlainObject(rawTransports) ? rawTransports : (issues.push({ path: 'transports', message: 'must be a mapping of name to transport' }), {});
  const deviceList = Array.isArray(rawDevices) ? rawDevices : (issues.push({ path: 'devices', message: 'must be a list' }), []);
  const users = validateUsers(userList, issues);
  const registries = opts.registries ?? builtinRegistries;
  const transports = validateTransports(transportMap, registries.transports, issues);
  const devices = validateDevices(deviceList, registries, transports, transportMap, commands.timeout_ms, issues);
  const links = validateLinks(rawLinks, devices, registries.kinds, issues);
  const uplink = validateUplink(raw.uplink as UplinkConfig, raw.site as string, raw.gateway_id as string, registries.kinds, issues);
  validateBrokerListeners(raw.broker as GatehouseConfig['broker'], issues);
  // An id forgotten while a copy of its command can still be valid would let that copy run again.
  const longestValidity = Math.max(commands.max_age_ms, MAX_TTL_MS) + commands.clock_skew_ms;
  if (commands.dedupe_window_ms <= longestValidity) {
    issues.push({
      path: 'commands.dedupe_window_ms',
      message: `must be longer than any command stays valid (max(max_age_ms, ${MAX_TTL_MS} ms ttl) + clock_skew_ms = ${longestValidity} ms)`,
    });
  }

  if (issues.length > 0) return { ok: false, issues };
  return { ok: true, config: deepFreeze({ ...(raw as unknown as GatehouseConfig), users, transports, devices, uplink, links }) };
}

export function formatIssues(issues: ConfigIssue[]): string {
  return issues.map((i) => `  ${i.path}: ${i.message}`).join('\n');
}
