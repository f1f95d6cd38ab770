// The `broker` and `users` sections: the broker's convict schema (listeners, anonymous access,
// limits, login, persistence), the rules across its keys, and the hand-validated user list;
// src/config.ts puts them in its fixed sections.
import type { ConfigIssue } from '../driver-api.js';
import { checkReadableFile } from '../config/files.js';
import { BOOLEAN, PORT } from '../config/formats.js';
import { suggestionFor } from '../config/suggest.js';
import { validateTopicFilter } from '../mqtt-topic.js';
import { IDENTITY_SOURCES, type IdentitySource } from './client-identity.js';
import type { BrokerLimitsConfig, BrokerLoginConfig } from './client-limits.js';
import { brokerLimitsSchema, brokerLoginSchema } from './limits-config.js';
import { CLIENT_CERTIFICATE_POLICIES, type ClientCertificatePolicy } from './listeners/certificates.js';
import { isPasswordHash } from './password.js';
import { isPlainObject } from '../config/plain-object.js';

export interface UserConfig {
  username: string;
  password_hash: string;
  publish: string[];
  subscribe: string[];
  /** Console roles (src/console/server): `admin` sees the broker view and the commissioning tools. */
  roles?: UserRole[];
  /** Filters refused for publish and subscribe before publish/subscribe are looked at. */
  deny: string[];
}

export const USER_ROLES = ['admin'] as const;
export type UserRole = (typeof USER_ROLES)[number];

type EnvName = (path: string) => string;

export function brokerSchema(env: EnvName) {
  return {
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
    deny: { doc: 'Topic filters anonymous clients may neither publish to nor receive, whatever publish and subscribe allow.', format: 'filter-list', default: [] as string[] },
  },
  limits: brokerLimitsSchema(env),
  login: brokerLoginSchema(env),
  persistence: {
    doc: 'sqlite: persistent sessions, their queued messages, retained messages and wills survive a restart (in data_dir\'s database); memory: they are lost at every restart.',
    format: ['sqlite', 'memory'],
    default: 'sqlite',
    env: env('broker.persistence'),
  },
};
}

/** The broker section as validated: listeners, anonymous access, limits, login, persistence. */
export interface BrokerConfig {
  host: string;
  port: number;
  /** The plain TCP listener on host:port. */
  tcp_enabled: boolean;
  tls: BrokerTlsConfig;
  ws: BrokerWsConfig;
  anonymous: { enabled: boolean; publish: string[]; subscribe: string[]; deny: string[] };
  limits: BrokerLimitsConfig;
  login: BrokerLoginConfig;
  persistence: 'sqlite' | 'memory';
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
export function validateBrokerListeners(broker: BrokerConfig, issues: ConfigIssue[]): void {
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

export function validateUsers(raw: unknown[], issues: ConfigIssue[]): UserConfig[] {
  const users: UserConfig[] = [];
  const seen = new Set<string>();
  const userKeys = ['username', 'password_hash', 'publish', 'subscribe', 'roles', 'deny'];
  raw.forEach((entry, i) => {
    if (!isPlainObject(entry)) return issues.push({ path: `users[${i}]`, message: 'must be an object' });
    const { username, password_hash, publish = [], subscribe = [], roles = [], deny = [] } = entry;
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
    const lists = { publish, subscribe, deny };
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
    if (!Array.isArray(roles)) issues.push({ path: `${path}.roles`, message: `must be a list of roles (known: ${USER_ROLES.join(', ')})` });
    else {
      roles.forEach((role, j) => {
        if (!(USER_ROLES as readonly unknown[]).includes(role)) {
          const hint = typeof role === 'string' ? suggestionFor(role, [...USER_ROLES]) : '';
          issues.push({ path: `${path}.roles[${j}]`, message: `unknown role ${JSON.stringify(role)}${hint} (known: ${USER_ROLES.join(', ')})` });
        }
      });
    }
    const userRoles = Array.isArray(roles) ? [...new Set(roles as UserRole[])] : [];
    users.push({ username: username as string, password_hash: password_hash as string, publish: publish as string[], subscribe: subscribe as string[], deny: deny as string[], ...(userRoles.length > 0 ? { roles: userRoles } : {}) });
  });
  return users;
}

