// The `console` section: the technician console's listener, sessions and request limits (a convict
// schema for src/config.ts) and the rules across its keys and other sections.
import type { ConfigIssue } from '../../driver-api.js';
import type { BrokerConfig } from '../../broker/config.js';
import { checkReadableFile } from '../../config/files.js';
import { BOOLEAN, integer, PORT, POSITIVE_INT } from '../../config/formats.js';

type EnvName = (path: string) => string;

export interface ConsoleConfig {
  enabled: boolean;
  host: string;
  port: number;
  /** HTTPS with broker.tls.cert and broker.tls.key. */
  tls: boolean;
  session_idle_s: number;
  session_max_s: number;
  max_body_bytes: number;
  requests_per_minute: number;
}

export function consoleSchema(env: EnvName) {
  return {
    enabled: { doc: 'Serve the technician console (a web page and its API) over HTTP.', format: BOOLEAN, default: false, env: env('console.enabled') },
    host: { doc: 'Address the console listener binds; beyond loopback, use console.tls.', format: String, default: '127.0.0.1', env: env('console.host') },
    port: { doc: 'Console HTTP(S) port; 0 picks a free one.', format: PORT, default: 8080, env: env('console.port') },
    tls: { doc: 'Serve the console over HTTPS with broker.tls.cert and broker.tls.key.', format: BOOLEAN, default: false, env: env('console.tls') },
    session_idle_s: { doc: 'A console session without a request for this long ends.', format: POSITIVE_INT, default: 900, env: env('console.session_idle_s') },
    session_max_s: { doc: 'A console session ends this long after its login, however active.', format: POSITIVE_INT, default: 43_200, env: env('console.session_max_s') },
    max_body_bytes: { doc: 'Largest request body the console reads; larger ones get 413.', format: integer(256, 1_048_576), default: 16_384, env: env('console.max_body_bytes') },
    requests_per_minute: { doc: 'Requests one address may make per minute; more get 429.', format: POSITIVE_INT, default: 600, env: env('console.requests_per_minute') },
  };
}

/** Rules across keys: HTTPS needs the broker's certificate files; the idle limit within the absolute one; a port of its own. */
export function validateConsole(console: ConsoleConfig, broker: BrokerConfig, metrics: { enabled: boolean; port: number }, issues: ConfigIssue[]): void {
  if (!console.enabled) return;
  if (console.tls) {
    for (const key of ['cert', 'key'] as const) {
      if (!broker.tls[key]) issues.push({ path: `broker.tls.${key}`, message: 'required when console.tls is true (the console serves HTTPS with the broker\'s certificate)' });
      else checkReadableFile(broker.tls[key], `broker.tls.${key}`, issues);
    }
  }
  if (console.session_idle_s > console.session_max_s) {
    issues.push({ path: 'console.session_idle_s', message: `must be at most console.session_max_s (${console.session_max_s}), got ${console.session_idle_s}` });
  }
  if (console.port !== 0) {
    const others = [
      { key: 'metrics.port', on: metrics.enabled, port: metrics.port },
      { key: 'broker.port', on: broker.tcp_enabled, port: broker.port },
      { key: 'broker.tls.port', on: broker.tls.enabled, port: broker.tls.port },
      { key: 'broker.ws.port', on: broker.ws.enabled, port: broker.ws.port },
    ];
    const clash = others.find((o) => o.on && o.port === console.port);
    if (clash) issues.push({ path: 'console.port', message: `port ${console.port} is also ${clash.key}; the console needs its own port` });
  }
}
