// The security posture of a valid config, for the end of `gatehouse check`: who may connect
// without logging in and what they may do, each listener and whether it is encrypted, client
// certificates, the metrics address (it has no authentication), the cloud uplink, and
// credentials copied from the shipped sample configs.
import { verifyPassword } from '../broker/password.js';
import type { GatehouseConfig } from '../config.js';
import { isLoopbackHost } from '../metrics/loopback.js';
import { uplinkUrls } from '../uplink/config.js';
import type { SampleCredentials } from './sample-credentials.js';

export interface PostureItem {
  /** What the line is about: anonymous, tcp, tls, ... */
  subject: string;
  text: string;
  /** Each a sentence saying what is exposed and what to do. */
  warnings: string[];
}

const WILDCARD_HOSTS = new Set(['0.0.0.0', '::', '']);

function address(host: string, port: number): string {
  const shown = host.includes(':') ? `[${host}]:${port}` : `${host || '0.0.0.0'}:${port}`;
  if (WILDCARD_HOSTS.has(host)) return `${shown} (every interface)`;
  return isLoopbackHost(host) ? `${shown} (loopback only)` : shown;
}

function filters(list: readonly string[]): string {
  return list.length === 0 ? 'nothing' : list.join(', ');
}

/** The enabled MQTT listeners that other machines can reach, as `tcp 0.0.0.0:1883`. */
function exposedListeners(config: Readonly<GatehouseConfig>): string[] {
  const { broker } = config;
  const listeners = [
    { name: 'tcp', enabled: broker.tcp_enabled, host: broker.host, port: broker.port },
    { name: 'tls', enabled: broker.tls.enabled, host: broker.tls.host, port: broker.tls.port },
    { name: 'ws', enabled: broker.ws.enabled, host: broker.ws.host, port: broker.ws.port },
  ];
  return listeners.filter((l) => l.enabled && !isLoopbackHost(l.host)).map((l) => `${l.name} ${l.host || '0.0.0.0'}:${l.port}`);
}

function denied(list: readonly string[]): string {
  return list.length === 0 ? '' : `, never ${list.join(', ')} (deny)`;
}

function anonymous(config: Readonly<GatehouseConfig>): PostureItem {
  const { enabled, publish, subscribe, deny } = config.broker.anonymous;
  if (!enabled) return { subject: 'anonymous', text: 'off: every client logs in as a user of the config', warnings: [] };
  const warnings: string[] = [];
  if (publish.length > 0) warnings.push(`clients without a username may publish to ${filters(publish)}: commands too, where a filter covers a command topic`);
  const exposed = exposedListeners(config);
  if (exposed.length > 0 && subscribe.length > 0) warnings.push(`anyone who reaches ${exposed.join(', ')} may read ${filters(subscribe)} without logging in`);
  return { subject: 'anonymous', text: `ON: clients without a username may read ${filters(subscribe)} and publish to ${filters(publish)}${denied(deny)}`, warnings };
}

const PLAIN_BEYOND_LOOPBACK = 'passwords, commands and state cross the network unencrypted: use TLS, or keep this listener on a trusted network';

function listeners(config: Readonly<GatehouseConfig>): PostureItem[] {
  const { broker } = config;
  const { tls, ws } = broker;
  const items: PostureItem[] = [];
  items.push(
    broker.tcp_enabled
      ? { subject: 'tcp', text: `${address(broker.host, broker.port)}, plain MQTT without TLS`, warnings: isLoopbackHost(broker.host) ? [] : [PLAIN_BEYOND_LOOPBACK] }
      : { subject: 'tcp', text: 'off', warnings: [] },
  );
  items.push({ subject: 'tls', text: tls.enabled ? `${address(tls.host, tls.port)}, MQTT over TLS (certificate ${tls.cert})` : 'off', warnings: [] });
  if (!ws.enabled) items.push({ subject: 'websocket', text: 'off', warnings: [] });
  else {
    const plain = !ws.tls;
    items.push({
      subject: 'websocket',
      text: `${address(ws.host, ws.port)} path ${ws.path}, ${plain ? 'plain ws:// without TLS' : 'wss:// (TLS, the broker.tls certificate)'}`,
      warnings: plain && !isLoopbackHost(ws.host) ? [PLAIN_BEYOND_LOOPBACK] : [],
    });
  }
  const tlsInUse = tls.enabled || (ws.enabled && ws.tls);
  let certificates: string;
  if (!tlsInUse) certificates = 'not used (no TLS listener)';
  else if (tls.client_certificates === 'off') certificates = 'off: TLS clients log in with a username and password';
  else {
    const how = `a certificate signed by ${tls.ca} logs in, without a password, as the user its ${tls.identity_from} names`;
    certificates = tls.client_certificates === 'required' ? `required on TLS listeners: ${how}` : `optional: ${how}; clients without one log in with a password`;
  }
  items.push({ subject: 'client certs', text: certificates, warnings: [] });
  return items;
}

function metrics(config: Readonly<GatehouseConfig>): PostureItem {
  const { enabled, host, port } = config.metrics;
  if (!enabled) return { subject: 'metrics', text: 'off', warnings: [] };
  const warnings = isLoopbackHost(host)
    ? []
    : ['the metrics listener has no authentication and listens beyond loopback: anyone who reaches it reads device states, client ids and refusals (/status.json) and the metrics; bind it to 127.0.0.1 or firewall the port'];
  return { subject: 'metrics', text: `${address(host, port)}, HTTP without authentication (/metrics, /healthz, /status.json)`, warnings };
}

function technicianConsole(config: Readonly<GatehouseConfig>): PostureItem {
  const { enabled, host, port, tls, session_idle_s, session_max_s } = config.console;
  if (!enabled) return { subject: 'console', text: 'off', warnings: [] };
  const admins = config.users.filter((u) => u.roles?.includes('admin')).map((u) => u.username);
  const text =
    `${address(host, port)}, ${tls ? 'HTTPS with the broker\'s certificate' : 'HTTP without TLS'}; login with the broker's users and lockout, ` +
    `sessions end after ${session_idle_s} s idle and ${session_max_s} s in all; admins (broker view, commissioning): ${admins.length > 0 ? admins.join(', ') : 'none'}`;
  const warnings = !tls && !isLoopbackHost(host)
    ? ['the console listens beyond loopback without TLS: passwords and session cookies cross the network readable; set console.tls: true (with broker.tls.cert and key) or bind it to 127.0.0.1']
    : [];
  return { subject: 'console', text, warnings };
}

function uplink(config: Readonly<GatehouseConfig>): PostureItem {
  const { enabled, url, username, tls, allow_commands } = config.uplink;
  if (!enabled) return { subject: 'uplink', text: 'off', warnings: [] };
  const urls = uplinkUrls(url);
  const secure = urls.every((u) => u.startsWith('mqtts:'));
  const login = [username ? `user ${username}` : undefined, tls.cert ? 'a client certificate' : undefined].filter(Boolean).join(' and ') || 'no credentials';
  const commands = allow_commands.length === 0 ? 'no commands' : `the commands ${allow_commands.join(', ')}`;
  return {
    subject: 'uplink',
    text: `on: ${urls.join(', ')}, ${secure ? 'TLS' : 'plain MQTT without TLS'}, logs in with ${login}; the cloud may send ${commands}`,
    warnings: secure ? [] : ['the cloud link is not encrypted: everything gatehouse publishes, the uplink password and the cloud\'s commands cross the network readable; use mqtts://'],
  };
}

/** The sample password that `hash` verifies, with where it comes from; undefined for none. */
async function samplePasswordOf(hash: string, samples: SampleCredentials): Promise<[string, string] | undefined> {
  for (const [password, source] of samples.passwords) if (await verifyPassword(password, hash)) return [password, source];
  return undefined;
}

/** Users whose hash is a shipped one, or whose password is a sample password anyone knows. */
async function sampleUserCredentials(config: Readonly<GatehouseConfig>, samples: SampleCredentials): Promise<string[]> {
  const found = await Promise.all(
    config.users.map(async (user, i) => {
      const who = `users[${i}] (${user.username})`;
      const shipped = samples.hashes.get(user.password_hash);
      const sample = await samplePasswordOf(user.password_hash, samples);
      const password = sample ? `password "${sample[0]}"` : undefined;
      if (shipped !== undefined) return `${who}: password_hash copied from ${shipped}${password ? `, ${password}` : ''}: anyone with the gatehouse sources can log in as this user; set a new one with gatehouse passwd`;
      if (sample) return `${who}: its ${password} is the sample one of ${sample[1]}: anyone can log in as this user; set a new one with gatehouse passwd`;
      return undefined;
    }),
  );
  return found.filter((w): w is string => w !== undefined);
}

function sampleSecrets(config: Readonly<GatehouseConfig>, samples: SampleCredentials): string[] {
  const warnings: string[] = [];
  for (const [name, transport] of Object.entries(config.transports)) {
    const password = (transport as { password?: unknown }).password;
    const source = typeof password === 'string' ? samples.passwords.get(password) : undefined;
    if (source !== undefined) warnings.push(`transports.${name}.password is the one shipped in ${source}: give the device a password of its own`);
  }
  const source = config.uplink.password ? samples.passwords.get(config.uplink.password) : undefined;
  if (source !== undefined) warnings.push(`uplink.password is the one shipped in ${source}`);
  return warnings;
}

export async function securityPosture(config: Readonly<GatehouseConfig>, samples: SampleCredentials): Promise<PostureItem[]> {
  const withDeny = config.users.filter((u) => u.deny.length > 0);
  const users: PostureItem = {
    subject: 'users',
    text:
      `${config.users.length} user${config.users.length === 1 ? '' : 's'}${config.users.length ? `: ${config.users.map((u) => u.username).join(', ')}` : ''}` +
      (withDeny.length ? `; deny filters: ${withDeny.map((u) => `${u.username} never ${u.deny.join(', ')}`).join('; ')}` : ''),
    warnings: [...(await sampleUserCredentials(config, samples)), ...sampleSecrets(config, samples)],
  };
  return [anonymous(config), ...listeners(config), metrics(config), technicianConsole(config), uplink(config), users];
}

export function formatPosture(items: PostureItem[]): string {
  const width = Math.max(...items.map((i) => i.subject.length)) + 2;
  const lines = ['security posture:'];
  for (const item of items) {
    lines.push(`  ${item.subject.padEnd(width)}${item.text}`);
    for (const warning of item.warnings) lines.push(`  ${' '.repeat(width)}WARNING: ${warning}`);
  }
  const count = items.reduce((sum, i) => sum + i.warnings.length, 0);
  lines.push(count === 0 ? 'no warnings' : `${count} warning${count === 1 ? '' : 's'}`);
  return lines.join('\n') + '\n';
}
