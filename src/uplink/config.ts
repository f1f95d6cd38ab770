// The `uplink` section: its convict schema (the keys, formats, defaults and variables) and the
// rules across its keys; src/config.ts puts it in its fixed sections.
import convict from 'convict';
import type { ConfigIssue } from '../driver-api.js';
import { checkReadableFile } from '../config/files.js';
import { BOOLEAN, NATURAL, POSITIVE_INT } from '../config/formats.js';
import { commandCatalogOf, type Registries } from '../registries.js';
import { GATEWAY_KIND, parseCommandPattern } from '../topics.js';

/** The cloud uplink (issue 3); see validateUplink for the rules beyond each key's format. */
export interface UplinkConfig {
  enabled: boolean;
  /** One broker, or the nodes of a cluster in the order they are tried (see uplinkUrls). */
  url: string | string[];
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


convict.addFormat({
  name: 'uplink-url',
  validate(value: unknown) {
    if (typeof value === 'string') return;
    if (!Array.isArray(value)) throw new Error('must be a URL (mqtt://host:port or mqtts://host:port) or a list of them');
    const bad = value.findIndex((e) => typeof e !== 'string');
    if (bad >= 0) throw new Error(`entry ${bad} (${JSON.stringify(value[bad])}) is not a string (mqtt://host:port or mqtts://host:port)`);
  },
});

/**
 * The broker URLs of `uplink.url`, in order: a list as given, one string as one URL, or a
 * comma-separated string (what an environment variable can hold) split at its commas.
 */
export function uplinkUrls(url: string | readonly string[]): string[] {
  if (typeof url !== 'string') return [...url];
  if (url === '') return [];
  return url.includes(',') ? url.split(',').map((u) => u.trim()) : [url];
}

type EnvName = (path: string) => string;

export function uplinkSchema(env: EnvName) {
  return {
  enabled: { doc: 'Connect to the operator\'s cloud broker.', format: BOOLEAN, default: false, env: env('uplink.enabled') },
  url: { doc: 'mqtt://host:port or mqtts://host:port of the cloud broker, or a list of the nodes of a cluster (tried in turn).', format: 'uplink-url', default: '' as string | string[], env: env('uplink.url') },
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
  synchronous: { doc: 'Durability of outbox writes: FULL (a message counts once the WAL is fsynced) or NORMAL (once committed).', format: ['FULL', 'NORMAL'], default: 'FULL', env: env('uplink.synchronous') },
  flush_on_stop_ms: { doc: 'How long a clean stop waits for the outbox to drain.', format: NATURAL, default: 5000, env: env('uplink.flush_on_stop_ms') },
};
}

/** Rules across uplink keys; files are checked only when the uplink is enabled. */
export function validateUplink(uplink: UplinkConfig, site: string, gatewayId: string, kindRegistry: Registries['kinds'], issues: ConfigIssue[]): UplinkConfig {
  const result: UplinkConfig = { ...uplink, protocol: String(uplink.protocol) as UplinkConfig['protocol'], client_id: uplink.client_id || `gatehouse-${site}-${gatewayId}` };
  let secure = false;
  const urls = uplinkUrls(uplink.url);
  if (urls.length === 0) {
    if (uplink.enabled) issues.push({ path: 'uplink.url', message: 'required when uplink.enabled is true (mqtt://host:port or mqtts://host:port, or a list of them)' });
  }
  const seen = new Map<string, number>();
  urls.forEach((text, i) => {
    // One URL is `uplink.url`; the nodes of a list are `uplink.url[i]`.
    const path = typeof uplink.url === 'string' && !uplink.url.includes(',') ? 'uplink.url' : `uplink.url[${i}]`;
    let url: URL | undefined;
    try {
      url = new URL(text);
    } catch {
      issues.push({ path, message: `${JSON.stringify(text)} is not a URL (mqtt://host:port or mqtts://host:port)` });
    }
    if (!url) return;
    if (url.protocol === 'mqtts:') secure = true;
    if (url.protocol !== 'mqtt:' && url.protocol !== 'mqtts:') issues.push({ path, message: `scheme must be mqtt: or mqtts:, not ${url.protocol}` });
    else if (!url.hostname) issues.push({ path, message: 'has no host' });
    if (url.username || url.password) issues.push({ path, message: 'must not carry credentials; use uplink.username and uplink.password or uplink.password_file' });
    if ((url.pathname && url.pathname !== '/') || url.search || url.hash) issues.push({ path, message: 'must be scheme://host:port with nothing after the port' });
    const node = url.href;
    const before = seen.get(node);
    if (before !== undefined) issues.push({ path, message: `the same node as uplink.url[${before}]` });
    else seen.set(node, i);
  });
  if (uplink.password && uplink.password_file) issues.push({ path: 'uplink.password_file', message: 'give uplink.password or uplink.password_file, not both' });
  // MQTT 3.1.1 section 3.1.2.9 (MQTT-3.1.2-22): no password without a user name.
  if ((uplink.password || uplink.password_file) && !uplink.username) issues.push({ path: 'uplink.username', message: 'required when a password is given (MQTT 3.1.1 section 3.1.2.9)' });
  if (Buffer.byteLength(result.client_id, 'utf8') > 65_535) issues.push({ path: 'uplink.client_id', message: 'longer than 65535 bytes (MQTT 3.1.1 section 1.5.3)' });
  for (const key of ['ca', 'cert', 'key'] as const) {
    if (uplink.tls[key] && urls.length > 0 && !secure) issues.push({ path: `uplink.tls.${key}`, message: 'only used with an mqtts:// url' });
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
      // "*" is every device kind, never the gateway (allow-list.ts).
      const kinds = kind === '*' ? Object.keys(catalog).filter((k) => k !== GATEWAY_KIND) : [kind];
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

