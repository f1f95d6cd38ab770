// The TLS listener: password and client-certificate logins (CN and subjectAltName identities),
// refused certificates, handshake failures and their bounded logging, certificate reload. Real
// clients: mosquitto_pub/mosquitto_sub with --cafile/--cert/--key, and MQTT.js over mqtts.
import assert from 'node:assert/strict';
import { copyFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect as netConnect } from 'node:net';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { isBrokerError } from '../../src/broker/errors.js';
import { fingerprintOf } from '../support/pki.js';
import { requireTool } from '../support/require-tool.js';
import {
  PANEL_DNS,
  PANEL_EMAIL,
  PANEL_URI,
  TestPki,
  certificateSettings,
  mosquittoPubTls,
  mosquittoTlsArgs,
  mqttTlsOptions,
  servedFingerprint,
  startTlsBroker,
  subscribeCodes,
  usersWithCertificateNames,
} from './listener-support.js';
import { WAIT_MS, mqttClient, runTool, startBroker, waitFor, type LogLine } from './support.js';

const pki = new TestPki();
after(() => pki.dispose());

const operatorCert = () => pki.cert('operator', { cn: 'operator' });
const viewerCert = () => pki.cert('viewer', { cn: 'viewer' });
const nobodyCert = () => pki.cert('nobody', { cn: 'nobody' });
const strangerCert = () => pki.cert('stranger', { cn: 'operator', stranger: true });
const expiredCert = () => pki.cert('expired', { cn: 'operator', expired: true });
const panelCert = () => pki.cert('panel', { cn: 'operator', san: `DNS:${PANEL_DNS},email:${PANEL_EMAIL},URI:${PANEL_URI}` });

const logins = (lines: LogLine[]) => lines.filter((l) => l.msg === 'mqtt login');
const NOT_AUTHORISED = /not authori[sz]ed/i;

test('TLS: password login with mosquitto_pub and mosquitto_sub --cafile, MQTT.js over mqtts; ports() lists each listener', async (t) => {
  const { broker, port, tlsPort, lines } = await startTlsBroker(t, pki.value);
  assert.deepEqual(broker.ports(), { tcp: port, tls: tlsPort, ws: undefined });
  assert.notEqual(port, tlsPort);
  assert.ok(lines.some((l) => l.msg === 'broker listening' && l.protocol === 'mqtt+tls' && l.port === tlsPort && l.certificate === fingerprintOf(pki.value.server.cert)));

  const first = await mosquittoPubTls({ port: tlsPort, ca: pki.value.ca, username: 'operator', password: 'op-secret', topic: 'chat/tls', message: 'over tls' });
  assert.equal(first.code, 0, first.stderr);
  const live = await mqttClient(t, tlsPort, { protocol: 'mqtts', username: 'operator', password: 'op-secret', ...mqttTlsOptions(pki.value.ca) });
  const received: string[] = [];
  live.on('message', (topic, payload) => received.push(`${topic} ${payload.toString()}`));
  await live.subscribeAsync('chat/#', { qos: 1 });
  const second = await mosquittoPubTls({ port: tlsPort, ca: pki.value.ca, username: 'operator', password: 'op-secret', topic: 'chat/kept', message: 'kept' });
  assert.equal(second.code, 0, second.stderr);

  // mosquitto_sub over TLS receives the gateway's retained state.
  const sub = requireTool('mosquitto_sub', 'mosquitto-clients');
  const subRun = runTool(sub, [...mosquittoTlsArgs({ port: tlsPort, ca: pki.value.ca, username: 'viewer', password: 'view-secret' }), '-t', 'site/hq/#', '-C', '1', '-W', '10', '-v']);
  await broker.publish('site/hq/gate/g1/state', '{"locked":true}', { qos: 1, retain: true });
  const subResult = await subRun;
  assert.equal(subResult.code, 0, subResult.stderr);
  assert.equal(subResult.stdout.trim(), 'site/hq/gate/g1/state {"locked":true}');

  await waitFor('the TLS publish on the TLS subscriber', () => received.includes('chat/kept kept'));
  const wrong = await mosquittoPubTls({ port: tlsPort, ca: pki.value.ca, username: 'operator', password: 'nope', topic: 'chat/x', message: 'x' });
  assert.notEqual(wrong.code, 0);
  assert.match(wrong.stderr, /bad user name or password/i);

  assert.ok(logins(lines).length >= 4);
  assert.ok(logins(lines).every((l) => l.protocol === 'mqtt+tls' && l.certificate === undefined));
});

test('mTLS: a certificate whose CN is a user logs in without a password, under that user\'s ACL', async (t) => {
  const { tlsPort, events, lines } = await startTlsBroker(t, pki.value, { clientCertificates: 'optional' });
  const ca = pki.value.ca;

  const byCert = await mosquittoPubTls({ port: tlsPort, ca, client: operatorCert(), topic: 'chat/cert', message: 'by certificate' });
  assert.equal(byCert.code, 0, byCert.stderr);
  // The same name sent as username is fine; a password sent along is not looked at.
  const named = await mosquittoPubTls({ port: tlsPort, ca, client: operatorCert(), username: 'operator', topic: 'chat/cert', message: 'named' });
  assert.equal(named.code, 0, named.stderr);
  const withPassword = await mosquittoPubTls({ port: tlsPort, ca, client: operatorCert(), username: 'operator', password: 'ignored', topic: 'chat/cert', message: 'pw' });
  assert.equal(withPassword.code, 0, withPassword.stderr);
  const certLogins = logins(lines).filter((l) => l.certificate !== undefined);
  assert.equal(certLogins.length, 3);
  assert.ok(certLogins.every((l) => l.username === 'operator' && l.protocol === 'mqtt+tls' && l.certificate === fingerprintOf(operatorCert().cert)));

  // viewer's certificate gets viewer's ACL: a subscription outside it fails, a publish closes the connection.
  const viewer = await mqttClient(t, tlsPort, { protocol: 'mqtts', clientId: 'viewer-cert', ...mqttTlsOptions(ca, viewerCert()) });
  assert.deepEqual(await subscribeCodes(viewer, ['site/hq/#', 'chat/#'], 1), [1, 128]);
  const closed = new Promise<void>((resolve) => viewer.once('close', () => resolve()));
  viewer.publish('chat/viewer', 'not allowed', { qos: 1 });
  await closed;
  const denied = events.find((e) => e.type === 'publish_denied');
  assert.deepEqual(denied && { username: denied.username, clientId: denied.clientId, protocol: denied.protocol, topic: denied.topic }, {
    username: 'viewer',
    clientId: 'viewer-cert',
    protocol: 'mqtt+tls',
    topic: 'chat/viewer',
  });
  assert.ok(events.some((e) => e.type === 'subscribe_denied' && e.username === 'viewer' && e.protocol === 'mqtt+tls'));
});

for (const [identityFrom, user] of [['san_dns', PANEL_DNS], ['san_email', PANEL_EMAIL], ['san_uri', PANEL_URI]] as const) {
  test(`mTLS identity from the subjectAltName (${identityFrom}) maps to the user ${user}`, async (t) => {
    const { tlsPort, events, lines } = await startTlsBroker(t, pki.value, { clientCertificates: 'required', identityFrom });
    const ca = pki.value.ca;
    // The panel certificate's CN is "operator": with a SAN identity the CN is not looked at.
    const allowed = await mosquittoPubTls({ port: tlsPort, ca, client: panelCert(), topic: 'chat/panel/hello', message: 'hi' });
    assert.equal(allowed.code, 0, allowed.stderr);
    assert.deepEqual(logins(lines).map((l) => l.username), [user]);
    const client = await mqttClient(t, tlsPort, { protocol: 'mqtts', ...mqttTlsOptions(ca, panelCert()) });
    assert.deepEqual(await subscribeCodes(client, ['chat/#', 'site/hq/#'], 0), [0, 128], 'the panel user\'s ACL applies');

    // A certificate without that kind of subjectAltName names nobody.
    const noSan = await mosquittoPubTls({ port: tlsPort, ca, client: operatorCert(), topic: 'chat/panel/hello', message: 'hi' });
    assert.notEqual(noSan.code, 0);
    assert.match(noSan.stderr, NOT_AUTHORISED);
    assert.deepEqual(events.filter((e) => e.type === 'auth_failed').map((e) => e.reason), ['certificate_without_identity']);
  });
}

test('a verified certificate naming no configured user is refused with CONNACK 5 (unknown_certificate_user)', async (t) => {
  const { tlsPort, events } = await startTlsBroker(t, pki.value, { clientCertificates: 'required' });
  const result = await mosquittoPubTls({ port: tlsPort, ca: pki.value.ca, client: nobodyCert(), topic: 'chat/x', message: 'x' });
  assert.notEqual(result.code, 0);
  assert.match(result.stderr, NOT_AUTHORISED);
  await assert.rejects(
    mqttClient(t, tlsPort, { protocol: 'mqtts', ...mqttTlsOptions(pki.value.ca, nobodyCert()) }),
    (err: Error & { code?: number }) => err.code === 5,
  );
  const failures = events.filter((e) => e.type === 'auth_failed');
  assert.equal(failures.length, 2);
  assert.ok(failures.every((e) => e.reason === 'unknown_certificate_user' && e.username === 'nobody' && e.protocol === 'mqtt+tls'));
});

test('a username other than the certificate identity is refused with CONNACK 5 (certificate_mismatch), even with its right password', async (t) => {
  const { tlsPort, events, lines } = await startTlsBroker(t, pki.value, { clientCertificates: 'optional' });
  const result = await mosquittoPubTls({ port: tlsPort, ca: pki.value.ca, client: operatorCert(), username: 'viewer', password: 'view-secret', topic: 'site/hq/x', message: 'x' });
  assert.notEqual(result.code, 0);
  assert.match(result.stderr, NOT_AUTHORISED);
  await assert.rejects(
    mqttClient(t, tlsPort, { protocol: 'mqtts', username: 'spy', password: 'spy-secret', ...mqttTlsOptions(pki.value.ca, operatorCert()) }),
    (err: Error & { code?: number }) => err.code === 5,
  );
  assert.deepEqual(
    events.filter((e) => e.type === 'auth_failed').map((e) => [e.username, e.reason]),
    [['viewer', 'certificate_mismatch'], ['spy', 'certificate_mismatch']],
  );
  assert.deepEqual(logins(lines), []);
});

for (const policy of ['optional', 'required'] as const) {
  for (const [label, cert, reason] of [
    ['untrusted', strangerCert, 'UNABLE_TO_VERIFY_LEAF_SIGNATURE'],
    ['expired', expiredCert, 'CERT_HAS_EXPIRED'],
  ] as const) {
    test(`${policy}: an ${label} client certificate fails the handshake, logged with the peer and ${reason}`, async (t) => {
      const { tlsPort, events, lines } = await startTlsBroker(t, pki.value, { clientCertificates: policy });
      const result = await mosquittoPubTls({ port: tlsPort, ca: pki.value.ca, client: cert(), username: 'operator', password: 'op-secret', topic: 'chat/x', message: 'x' });
      assert.notEqual(result.code, 0, 'mosquitto_pub got no MQTT session');
      await assert.rejects(mqttClient(t, tlsPort, { protocol: 'mqtts', username: 'operator', password: 'op-secret', ...mqttTlsOptions(pki.value.ca, cert()) }));
      const failure = await waitFor('the handshake failure event', () => events.find((e) => e.type === 'auth_failed'));
      assert.equal(failure.reason, `tls_handshake: ${reason}`);
      assert.equal(failure.protocol, 'mqtt+tls');
      assert.match(failure.peer, /^127\.0\.0\.1:\d+$/);
      const logged = lines.filter((l) => l.msg === 'tls handshake failed');
      assert.equal(logged.length, 1, 'the second failure from the same address within a minute is only counted');
      assert.equal(logged[0].level, 40);
      assert.deepEqual(logins(lines), [], 'no MQTT login happened');
    });
  }
}

test('required: a client without a certificate never completes the handshake; optional lets it log in with a password', async (t) => {
  const required = await startTlsBroker(t, pki.value, { clientCertificates: 'required' });
  const refused = await mosquittoPubTls({ port: required.tlsPort, ca: pki.value.ca, username: 'operator', password: 'op-secret', topic: 'chat/x', message: 'x' });
  assert.notEqual(refused.code, 0);
  await assert.rejects(mqttClient(t, required.tlsPort, { protocol: 'mqtts', username: 'operator', password: 'op-secret', ...mqttTlsOptions(pki.value.ca) }));
  const failure = await waitFor('the handshake failure event', () => required.events.find((e) => e.type === 'auth_failed'));
  assert.equal(failure.reason, 'tls_handshake: peer did not return a certificate');
  assert.deepEqual(logins(required.lines), []);

  const optional = await startTlsBroker(t, pki.value, { clientCertificates: 'optional' });
  const ok = await mosquittoPubTls({ port: optional.tlsPort, ca: pki.value.ca, username: 'operator', password: 'op-secret', topic: 'chat/x', message: 'x' });
  assert.equal(ok.code, 0, ok.stderr);
  assert.deepEqual(logins(optional.lines).map((l) => [l.username, l.certificate]), [['operator', undefined]]);
});

test('a flood of failing handshakes from one address is logged once and summarised, not line by line', async (t) => {
  const { broker, tlsPort, events, lines } = await startTlsBroker(t, pki.value);
  const FLOOD = 10;
  for (let i = 0; i < FLOOD; i++) {
    // Plain MQTT bytes on the TLS port: not a TLS ClientHello.
    await new Promise<void>((resolve, reject) => {
      const socket = netConnect({ host: '127.0.0.1', port: tlsPort }, () => socket.write(Buffer.from([0x10, 0x0c, 0x00, 0x04, 0x4d, 0x51, 0x54, 0x54, 0x04, 0x02, 0x00, 0x3c, 0x00, 0x00])));
      const timer = setTimeout(() => reject(new Error('the broker did not close a non-TLS connection')), WAIT_MS);
      socket.on('error', () => {});
      socket.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
  assert.equal(lines.filter((l) => l.msg === 'tls handshake failed').length, 1);
  assert.equal(events.length, 1);
  assert.match(events[0].reason, /^tls_handshake: /);
  await broker.stop();
  const summary = lines.find((l) => l.msg === 'tls handshake failures suppressed');
  assert.equal(summary?.address, '127.0.0.1');
  assert.equal(summary?.count, FLOOD - 1);
});

test('reloadCertificates: new TLS and WSS connections get the new certificate, open ones carry on; a bad file keeps the old one', async (t) => {
  const files = { cert: join(pki.value.dir, 'live-server.pem'), key: join(pki.value.dir, 'live-server.key') };
  copyFileSync(pki.value.server.cert, files.cert);
  copyFileSync(pki.value.server.key, files.key);
  const next = pki.cert('server-next', { cn: 'localhost', san: 'DNS:localhost,IP:127.0.0.1' });
  const { broker, tlsPort, lines } = await startTlsBroker(t, pki.value, files, {}, { ws: { enabled: true, host: '127.0.0.1', port: 0, tls: true } });
  const wssPort = broker.ports().ws!;
  const ca = pki.value.ca;
  const before = fingerprintOf(pki.value.server.cert);
  const after = fingerprintOf(next.cert);
  assert.equal(await servedFingerprint(tlsPort, ca), before);
  assert.equal(await servedFingerprint(wssPort, ca), before);

  const old = await mqttClient(t, tlsPort, { protocol: 'mqtts', username: 'operator', password: 'op-secret', ...mqttTlsOptions(ca) });
  const received: string[] = [];
  old.on('message', (topic) => received.push(topic));
  await old.subscribeAsync('chat/#', { qos: 1 });

  copyFileSync(next.cert, files.cert);
  copyFileSync(next.key, files.key);
  await broker.reloadCertificates();
  assert.ok(lines.some((l) => l.msg === 'tls certificates reloaded' && l.certificate === after));
  assert.equal(await servedFingerprint(tlsPort, ca), after);
  assert.equal(await servedFingerprint(wssPort, ca), after);
  const fresh = await mosquittoPubTls({ port: tlsPort, ca, username: 'operator', password: 'op-secret', topic: 'chat/after-reload', message: 'x' });
  assert.equal(fresh.code, 0, fresh.stderr);
  await waitFor('the open connection to receive after the reload', () => received.includes('chat/after-reload'));
  assert.equal(old.connected, true);

  // A broken certificate file: refused by name, the served certificate stays.
  writeFileSync(files.cert, 'not a certificate\n');
  await assert.rejects(broker.reloadCertificates(), (err: Error) => isBrokerError(err, 'BROKER_TLS_FILE_INVALID') && err.message.includes(files.cert));
  // A key that belongs to another certificate.
  copyFileSync(next.cert, files.cert);
  copyFileSync(pki.value.server.key, files.key);
  await assert.rejects(broker.reloadCertificates(), (err: Error) => isBrokerError(err, 'BROKER_TLS_FILE_INVALID') && err.message.includes(files.key));
  // A missing key file.
  rmSync(files.key);
  await assert.rejects(broker.reloadCertificates(), (err: Error) => isBrokerError(err, 'BROKER_TLS_FILE_UNREADABLE') && err.message.includes(files.key));
  assert.equal(await servedFingerprint(tlsPort, ca), after);
  assert.equal(await servedFingerprint(wssPort, ca), after);
  const still = await mosquittoPubTls({ port: tlsPort, ca, username: 'operator', password: 'op-secret', topic: 'chat/still', message: 'x' });
  assert.equal(still.code, 0, still.stderr);
});

test('start fails with stable codes: TLS without files, a bad certificate file, client certificates without a CA, every listener off', async (t) => {
  const users = await usersWithCertificateNames();
  await assert.rejects(
    startBroker(t, { users, listeners: { tls: { enabled: true, host: '127.0.0.1', port: 0 } } }),
    (err: Error) => isBrokerError(err, 'BROKER_TLS_NOT_CONFIGURED'),
  );
  const garbage = join(pki.value.dir, 'garbage.pem');
  writeFileSync(garbage, '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n');
  await assert.rejects(
    startBroker(t, { users, listeners: { tls: { enabled: true, host: '127.0.0.1', port: 0 }, certificates: certificateSettings(pki.value, { cert: garbage }) } }),
    (err: Error) => isBrokerError(err, 'BROKER_TLS_FILE_INVALID') && err.message.includes(garbage),
  );
  await assert.rejects(
    startBroker(t, { users, listeners: { tls: { enabled: true, host: '127.0.0.1', port: 0 }, certificates: certificateSettings(pki.value, { ca: undefined, clientCertificates: 'required' }) } }),
    (err: Error) => isBrokerError(err, 'BROKER_TLS_NOT_CONFIGURED') && /CA/.test(err.message),
  );
  await assert.rejects(startBroker(t, { users, listeners: { tcp: { enabled: false } } }), (err: Error) => isBrokerError(err, 'BROKER_NO_LISTENER'));
});
