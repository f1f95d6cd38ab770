// Config of the broker's listeners: defaults, environment overrides, and the rules across keys,
// each problem reported under the key it concerns.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadConfig, type ConfigIssue } from '../../src/config.js';
import { sharedTempDir } from '../support/temp.js';

const dir = sharedTempDir('listener-config');
const file = (name: string) => {
  const path = join(dir, name);
  writeFileSync(path, 'placeholder\n');
  return path;
};
const cert = file('server.pem');
const key = file('server.key');
const ca = file('ca.pem');

function issues(broker: Record<string, unknown>, env: NodeJS.ProcessEnv = {}): ConfigIssue[] {
  const result = loadConfig({ document: { site: 'hq', broker }, env });
  return result.ok ? [] : result.issues;
}

const paths = (list: ConfigIssue[]) => list.map((i) => i.path);

test('defaults: TCP on, TLS on 8883 and WebSocket on 8083 at /mqtt both off', () => {
  const result = loadConfig({ document: { site: 'hq' }, env: {} });
  assert.ok(result.ok);
  const { broker } = result.config;
  assert.equal(broker.tcp_enabled, true);
  assert.deepEqual(broker.tls, { enabled: false, host: '0.0.0.0', port: 8883, cert: '', key: '', ca: '', client_certificates: 'off', identity_from: 'cn' });
  assert.deepEqual(broker.ws, { enabled: false, host: '0.0.0.0', port: 8083, path: '/mqtt', tls: false });
});

test('environment overrides: GATEHOUSE_BROKER_TLS_* and GATEHOUSE_BROKER_WS_*', () => {
  const result = loadConfig({
    document: { site: 'hq' },
    env: {
      GATEHOUSE_BROKER_TCP_ENABLED: 'false',
      GATEHOUSE_BROKER_TLS_ENABLED: 'true',
      GATEHOUSE_BROKER_TLS_PORT: '0',
      GATEHOUSE_BROKER_TLS_CERT: cert,
      GATEHOUSE_BROKER_TLS_KEY: key,
      GATEHOUSE_BROKER_TLS_CA: ca,
      GATEHOUSE_BROKER_TLS_CLIENT_CERTIFICATES: 'required',
      GATEHOUSE_BROKER_TLS_IDENTITY_FROM: 'san_email',
      GATEHOUSE_BROKER_WS_ENABLED: 'true',
      GATEHOUSE_BROKER_WS_PATH: '/ws',
      GATEHOUSE_BROKER_WS_TLS: 'true',
    },
  });
  assert.ok(result.ok, JSON.stringify(!result.ok && result.issues));
  const { broker } = result.config;
  assert.equal(broker.tcp_enabled, false);
  assert.deepEqual([broker.tls.port, broker.tls.client_certificates, broker.tls.identity_from], [0, 'required', 'san_email']);
  assert.deepEqual([broker.ws.enabled, broker.ws.path, broker.ws.tls], [true, '/ws', true]);
});

test('every listener off is an error', () => {
  assert.deepEqual(paths(issues({ tcp_enabled: false })), ['broker.tcp_enabled']);
  assert.deepEqual(issues({ tcp_enabled: false, ws: { enabled: true } }), []);
});

test('TLS needs readable certificate and key files; client certificates need a CA', () => {
  assert.deepEqual(paths(issues({ tls: { enabled: true } })), ['broker.tls.cert', 'broker.tls.key']);
  const missing = issues({ tls: { enabled: true, cert: join(dir, 'nope.pem'), key: dir } });
  assert.deepEqual(paths(missing), ['broker.tls.cert', 'broker.tls.key']);
  assert.match(missing[0].message, /ENOENT/);
  assert.match(missing[1].message, /not a file/);
  assert.deepEqual(paths(issues({ tls: { enabled: true, cert, key, client_certificates: 'optional' } })), ['broker.tls.ca']);
  assert.deepEqual(paths(issues({ tls: { enabled: true, cert, key, ca: join(dir, 'no-ca.pem'), client_certificates: 'required' } })), ['broker.tls.ca']);
  assert.deepEqual(issues({ tls: { enabled: true, cert, key, ca, client_certificates: 'required', identity_from: 'san_uri' } }), []);
  assert.deepEqual(paths(issues({ tls: { client_certificates: 'sometimes', identity_from: 'o' } })), ['broker.tls.client_certificates', 'broker.tls.identity_from']);
});

test('WSS uses the broker.tls files even with the TLS listener off, and needs them', () => {
  const wss = issues({ ws: { enabled: true, tls: true } });
  assert.deepEqual(paths(wss), ['broker.tls.cert', 'broker.tls.key']);
  assert.match(wss[0].message, /broker\.ws\.tls/);
  assert.deepEqual(issues({ ws: { enabled: true, tls: true }, tls: { cert, key } }), []);
});

test('the WebSocket path must be an absolute HTTP path; two listeners cannot share a port', () => {
  for (const path of ['mqtt', '/mq tt', '/mqtt?x=1', '']) assert.deepEqual(paths(issues({ ws: { enabled: true, path } })), ['broker.ws.path'], path);
  assert.deepEqual(paths(issues({ port: 8083, ws: { enabled: true } })), ['broker.ws.port']);
  assert.deepEqual(paths(issues({ port: 9000, tls: { enabled: true, port: 9000, cert, key } })), ['broker.tls.port']);
  // Different addresses, or port 0: no clash.
  assert.deepEqual(issues({ host: '127.0.0.1', port: 9000, ws: { enabled: true, host: '127.0.0.2', port: 9000 } }), []);
  assert.deepEqual(issues({ port: 0, ws: { enabled: true, port: 0 } }), []);
});
