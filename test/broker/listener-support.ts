// Helpers for the TLS and WebSocket listener tests: a broker with a site PKI, users named by
// certificate identities, TLS runs of mosquitto_pub/sub, and a peek at the served certificate.
import type { TestContext } from 'node:test';
import { readFileSync } from 'node:fs';
import { connect as tlsConnect } from 'node:tls';
import type { MqttClient } from 'mqtt';
import type { BrokerOptions } from '../../src/broker/broker.js';
import type { ListenerSettings, TlsSettings } from '../../src/broker/listeners.js';
import { hashPassword } from '../../src/broker/password.js';
import { makePki, type CertPair, type Pki } from '../support/pki.js';
import { requireTool } from '../support/require-tool.js';
import { runTool, startBroker, testUsers, WAIT_MS, type BrokerUnderTest, type ToolResult } from './support.js';

/** Users named the way certificates name them (subjectAltName DNS, email and URI). */
export const PANEL_DNS = 'panel-1.hq.example';
export const PANEL_EMAIL = 'panel-1@hq.example';
export const PANEL_URI = 'urn:gatehouse:panel-1';

let certificateUsers: Promise<BrokerOptions['users']> | null = null;

/** testUsers() (operator, viewer, spy, device) and three panel users allowed chat/panel/#. */
export function usersWithCertificateNames(): Promise<BrokerOptions['users']> {
  certificateUsers ??= (async () => {
    const hash = await hashPassword('panel-secret');
    const panel = (username: string) => ({ username, password_hash: hash, publish: ['chat/panel/#'], subscribe: ['chat/#'] });
    return [...(await testUsers()), panel(PANEL_DNS), panel(PANEL_EMAIL), panel(PANEL_URI)];
  })();
  return certificateUsers;
}

/** One PKI per test file, removed after it; certificates are issued once per name. */
export class TestPki {
  private pki: Pki | null = null;
  private readonly issued = new Map<string, CertPair>();

  get value(): Pki {
    this.pki ??= makePki();
    return this.pki;
  }

  cert(name: string, opts: Parameters<Pki['issue']>[1]): CertPair {
    let pair = this.issued.get(name);
    if (!pair) {
      pair = this.value.issue(name, opts);
      this.issued.set(name, pair);
    }
    return pair;
  }

  dispose(): void {
    this.pki?.dispose();
  }
}

export function certificateSettings(pki: Pki, overrides: Partial<TlsSettings> = {}): TlsSettings {
  return { cert: pki.server.cert, key: pki.server.key, ca: pki.ca, clientCertificates: 'off', identityFrom: 'cn', ...overrides };
}

export interface SecureBroker extends BrokerUnderTest {
  tlsPort: number;
}

/** A broker with TCP and TLS listeners on 127.0.0.1 (ports picked by the OS), users with certificate names. */
export async function startTlsBroker(
  t: TestContext,
  pki: Pki,
  tls: Partial<TlsSettings> = {},
  overrides: Partial<BrokerOptions> = {},
  listeners: Partial<ListenerSettings> = {},
): Promise<SecureBroker> {
  const started = await startBroker(t, {
    users: await usersWithCertificateNames(),
    listeners: { tls: { enabled: true, host: '127.0.0.1', port: 0 }, certificates: certificateSettings(pki, tls), ...listeners },
    ...overrides,
  });
  const tlsPort = started.broker.ports().tls;
  if (tlsPort === undefined) throw new Error('no TLS port');
  return { ...started, tlsPort };
}

export interface TlsClientArgs {
  port: number;
  ca: string;
  client?: CertPair;
  username?: string;
  password?: string;
  clientId?: string;
}

/** mosquitto_pub/sub arguments for a TLS connection to localhost (the server certificate's name). */
export function mosquittoTlsArgs(opts: TlsClientArgs): string[] {
  const args = ['-h', 'localhost', '-p', String(opts.port), '-V', 'mqttv311', '--cafile', opts.ca];
  if (opts.client) args.push('--cert', opts.client.cert, '--key', opts.client.key);
  if (opts.username !== undefined) args.push('-u', opts.username);
  if (opts.password !== undefined) args.push('-P', opts.password);
  if (opts.clientId !== undefined) args.push('-i', opts.clientId);
  return args;
}

export function mosquittoPubTls(opts: TlsClientArgs & { topic: string; message: string; qos?: 0 | 1 }): Promise<ToolResult> {
  const pub = requireTool('mosquitto_pub', 'mosquitto-clients');
  return runTool(pub, [...mosquittoTlsArgs(opts), '-t', opts.topic, '-m', opts.message, '-q', String(opts.qos ?? 1)]);
}

/** MQTT.js TLS options (ca, and a client certificate) read from the PKI's files. */
export function mqttTlsOptions(ca: string, client?: CertPair): { ca: Buffer; cert?: Buffer; key?: Buffer } {
  return { ca: readFileSync(ca), ...(client ? { cert: readFileSync(client.cert), key: readFileSync(client.key) } : {}) };
}

/** SHA-256 fingerprint of the certificate a TLS server on 127.0.0.1:port serves now. */
export function servedFingerprint(port: number, ca: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host: '127.0.0.1', port, servername: 'localhost', ca: readFileSync(ca), rejectUnauthorized: false });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no TLS handshake with 127.0.0.1:${port} within ${WAIT_MS} ms`));
    }, WAIT_MS);
    socket.once('secureConnect', () => {
      clearTimeout(timer);
      const fingerprint = socket.getPeerCertificate().fingerprint256;
      socket.destroy();
      resolve(fingerprint);
    });
    socket.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

/** SUBACK return codes for `filters` (MQTT.js rejects when any is 0x80; the codes are wanted here). */
export async function subscribeCodes(client: MqttClient, filters: string[], qos: 0 | 1 | 2): Promise<number[]> {
  try {
    return (await client.subscribeAsync(filters, { qos })).map((g) => g.qos);
  } catch (err) {
    const packet = (err as { packet?: { granted?: number[] } }).packet;
    if (!packet?.granted) throw err;
    return packet.granted;
  }
}
