// The WebSocket listener (MQTT 3.1.1 section 6): MQTT.js over ws:// and wss://, the same login and
// ACL as TCP, the upgrade checks (path, "mqtt" subprotocol), binary frames only, the message size
// bound, the peer address, and WSS with client certificates.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { get as httpGet } from 'node:http';
import { connect as tlsConnect } from 'node:tls';
import { after, test } from 'node:test';
import type { MqttClient } from 'mqtt';
import WebSocket from 'ws';
import { requireTool } from '../support/require-tool.js';
import { fingerprintOf } from '../support/pki.js';
import { TestPki, certificateSettings, mqttTlsOptions, subscribeCodes, usersWithCertificateNames } from './listener-support.js';
import { PACKET, WAIT_MS, connectPacket, mqttClient, runTool, startBroker, waitFor, type BrokerUnderTest, type LogLine } from './support.js';

const pki = new TestPki();
after(() => pki.dispose());

const logins = (lines: LogLine[]) => lines.filter((l) => l.msg === 'mqtt login');

async function startWsBroker(t: Parameters<typeof startBroker>[0], ws: { path?: string; tls?: boolean } = {}, extra: Parameters<typeof startBroker>[1] = {}): Promise<BrokerUnderTest & { wsPort: number }> {
  const started = await startBroker(t, {
    users: await usersWithCertificateNames(),
    listeners: { ws: { enabled: true, host: '127.0.0.1', port: 0, ...ws }, ...(ws.tls ? { certificates: certificateSettings(pki.value, { clientCertificates: 'optional' }) } : {}) },
    ...extra,
  });
  const wsPort = started.broker.ports().ws;
  if (wsPort === undefined) throw new Error('no WebSocket port');
  return { ...started, wsPort };
}

function wsClient(t: Parameters<typeof startBroker>[0], port: number, opts: Record<string, unknown> = {}): Promise<MqttClient> {
  return mqttClient(t, port, { protocol: 'ws', path: '/mqtt', ...opts });
}

/** A raw WebSocket client: resolves once open, rejects with the HTTP status of a refused upgrade. */
function openWebSocket(t: Parameters<typeof startBroker>[0], url: string, protocols: string[], options: WebSocket.ClientOptions = {}): Promise<WebSocket> {
  const ws = new WebSocket(url, protocols, options);
  t.after(() => ws.terminate());
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`WebSocket ${url} did not open within ${WAIT_MS} ms`)), WAIT_MS);
    ws.once('open', () => {
      clearTimeout(timer);
      resolve(ws);
    });
    ws.once('unexpected-response', (_req, res) => {
      clearTimeout(timer);
      reject(Object.assign(new Error(`upgrade refused: ${res.statusCode}`), { status: res.statusCode }));
    });
    ws.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

function closeOf(ws: WebSocket): Promise<number> {
  if (ws.readyState === WebSocket.CLOSED) return Promise.resolve(-1);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the server did not close the WebSocket within ${WAIT_MS} ms`)), WAIT_MS);
    ws.once('close', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
}

function nextMessage(ws: WebSocket): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no WebSocket message within ${WAIT_MS} ms`)), WAIT_MS);
    ws.once('message', (data) => {
      clearTimeout(timer);
      resolve(data as Buffer);
    });
  });
}

function httpStatus(port: number, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpGet({ host: '127.0.0.1', port, path, timeout: WAIT_MS }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.once('timeout', () => req.destroy(new Error(`no HTTP answer within ${WAIT_MS} ms`)));
    req.once('error', reject);
  });
}

test('ws://: MQTT.js publishes and subscribes across WebSocket and TCP under the same ACL; a denied publish closes the connection', async (t) => {
  const { broker, port, wsPort, events, commands, lines } = await startWsBroker(t);
  assert.deepEqual(broker.ports(), { tcp: port, tls: undefined, ws: wsPort });
  assert.ok(lines.some((l) => l.msg === 'broker listening' && l.protocol === 'mqtt+ws' && l.path === '/mqtt'));

  const subscriber = await wsClient(t, wsPort, { username: 'operator', password: 'op-secret' });
  const received: string[] = [];
  subscriber.on('message', (topic, payload) => received.push(`${topic} ${payload.toString()}`));
  await subscriber.subscribeAsync('chat/#', { qos: 1 });

  const pub = requireTool('mosquitto_pub', 'mosquitto-clients');
  const fromTcp = await runTool(pub, ['-h', '127.0.0.1', '-p', String(port), '-V', 'mqttv311', '-u', 'operator', '-P', 'op-secret', '-t', 'chat/from-tcp', '-m', 'tcp', '-q', '1']);
  assert.equal(fromTcp.code, 0, fromTcp.stderr);
  const publisher = await wsClient(t, wsPort, { username: 'operator', password: 'op-secret' });
  await publisher.publishAsync('chat/from-ws', 'ws', { qos: 1, retain: true });
  await waitFor('both messages on the WebSocket subscriber', () => received.includes('chat/from-tcp tcp') && received.includes('chat/from-ws ws'));
  const sub = requireTool('mosquitto_sub', 'mosquitto-clients');
  // The message retained over WebSocket reaches a later mosquitto_sub over TCP.
  const overTcp = await runTool(sub, ['-h', '127.0.0.1', '-p', String(port), '-V', 'mqttv311', '-u', 'operator', '-P', 'op-secret', '-t', 'chat/from-ws', '-C', '1', '-W', '10', '-v']);
  assert.equal(overTcp.code, 0, overTcp.stderr);
  assert.equal(overTcp.stdout.trim(), 'chat/from-ws ws');

  // A command over WebSocket reaches the pipeline like any other.
  await publisher.publishAsync('site/hq/gate/g1/unlock', '{"id":"ws-1"}', { qos: 1 });
  await waitFor('the command', () => commands.length === 1);
  assert.equal(commands[0].authorized, true);
  assert.match(commands[0].peer, /^127\.0\.0\.1:\d+$/);

  const viewer = await wsClient(t, wsPort, { username: 'viewer', password: 'view-secret', clientId: 'viewer-ws' });
  assert.deepEqual(await subscribeCodes(viewer, ['site/hq/#', 'chat/#'], 1), [1, 128]);
  const closed = new Promise<void>((resolve) => viewer.once('close', () => resolve()));
  viewer.publish('chat/viewer', 'not allowed', { qos: 1 });
  await closed;
  const denied = events.find((e) => e.type === 'publish_denied');
  assert.deepEqual(denied && [denied.clientId, denied.username, denied.protocol], ['viewer-ws', 'viewer', 'mqtt+ws']);
  await assert.rejects(wsClient(t, wsPort, { username: 'operator', password: 'wrong' }), (err: Error & { code?: number }) => err.code === 4);
  assert.ok(events.some((e) => e.type === 'auth_failed' && e.reason === 'bad_password' && e.protocol === 'mqtt+ws'));
  const wsLogins = logins(lines).filter((l) => l.protocol === 'mqtt+ws').map((l) => l.username);
  assert.deepEqual(wsLogins, ['operator', 'operator', 'viewer']);
});

test('the upgrade needs the configured path and the "mqtt" subprotocol; plain HTTP gets 426 there, 404 elsewhere', async (t) => {
  const { wsPort, lines } = await startWsBroker(t, { path: '/ws/mqtt' });
  const base = `ws://127.0.0.1:${wsPort}`;
  await assert.rejects(openWebSocket(t, `${base}/mqtt`, ['mqtt']), (err: Error & { status?: number }) => err.status === 404);
  await assert.rejects(openWebSocket(t, `${base}/ws/mqtt`, []), (err: Error & { status?: number }) => err.status === 400);
  await assert.rejects(openWebSocket(t, `${base}/ws/mqtt`, ['chat']), (err: Error & { status?: number }) => err.status === 400);
  // MQTT-6.0.0-4: the server selects "mqtt"; MQTT 3.1 clients offer "mqttv3.1".
  assert.equal((await openWebSocket(t, `${base}/ws/mqtt`, ['chat', 'mqtt'])).protocol, 'mqtt');
  assert.equal((await openWebSocket(t, `${base}/ws/mqtt?client=1`, ['mqttv3.1'])).protocol, 'mqttv3.1');
  const client = await wsClient(t, wsPort, { path: '/ws/mqtt', username: 'operator', password: 'op-secret' });
  assert.equal(client.connected, true);
  assert.equal(await httpStatus(wsPort, '/ws/mqtt'), 426);
  assert.equal(await httpStatus(wsPort, '/'), 404);
  assert.deepEqual(logins(lines).map((l) => l.protocol), ['mqtt+ws']);
});

test('MQTT-6.0.0-1: a text frame closes the connection; a message over the packet limit closes it too', async (t) => {
  const { wsPort, lines } = await startWsBroker(t, {}, { limits: { maxPacketBytes: 1024 } });
  const url = `ws://127.0.0.1:${wsPort}/mqtt`;
  const watcher = await wsClient(t, wsPort, { username: 'operator', password: 'op-secret' });
  const received: string[] = [];
  watcher.on('message', (topic) => received.push(topic));
  await watcher.subscribeAsync('chat/#', { qos: 0 });

  const texting = await openWebSocket(t, url, ['mqtt']);
  texting.send(connectPacket({ clientId: 'raw-ws', username: 'operator', password: 'op-secret' }));
  const connack = await nextMessage(texting);
  assert.deepEqual([connack[0] >> 4, connack[3]], [PACKET.CONNACK, 0]);
  // A well-formed QoS 0 PUBLISH to chat/t, every byte ASCII, sent as a text frame.
  const publishAsText = Buffer.from([0x30, 0x0a, 0x00, 0x06, ...Buffer.from('chat/thi')]).toString('utf8');
  const textClosed = closeOf(texting);
  texting.send(publishAsText);
  await textClosed;
  assert.ok(lines.some((l) => l.msg === 'websocket text frame; closing connection'));
  await watcher.publishAsync('chat/marker', 'm', { qos: 1 });
  await waitFor('the marker', () => received.includes('chat/marker'));
  assert.deepEqual(received, ['chat/marker'], 'the PUBLISH in the text frame was not routed');

  const oversized = await openWebSocket(t, url, ['mqtt']);
  oversized.send(connectPacket({ clientId: 'raw-ws-2', username: 'operator', password: 'op-secret' }));
  await nextMessage(oversized);
  const bigClosed = closeOf(oversized);
  oversized.send(Buffer.alloc(4096));
  assert.equal(await bigClosed, 1009, 'ws closes with 1009, message too big');
});

test('the peer is the socket\'s own address: X-Forwarded-For is not trusted', async (t) => {
  const { wsPort, events } = await startWsBroker(t);
  await assert.rejects(wsClient(t, wsPort, { username: 'operator', password: 'wrong', wsOptions: { headers: { 'X-Forwarded-For': '203.0.113.9' } } }));
  const failure = await waitFor('the login failure', () => events.find((e) => e.type === 'auth_failed'));
  assert.match(failure.peer, /^127\.0\.0\.1:\d+$/);
});

test('wss://: the broker.tls certificate and client-certificate policy serve WebSocket even with the TLS listener off', async (t) => {
  const { broker, wsPort, events, lines } = await startWsBroker(t, { tls: true });
  assert.equal(broker.ports().tls, undefined);
  const ca = pki.value.ca;
  const operatorCert = pki.cert('operator', { cn: 'operator' });
  const secure = (opts: Record<string, unknown>) => wsClient(t, wsPort, { protocol: 'wss', ...opts });

  const byPassword = await secure({ username: 'operator', password: 'op-secret', ...mqttTlsOptions(ca) });
  const received: string[] = [];
  byPassword.on('message', (topic) => received.push(topic));
  await byPassword.subscribeAsync('chat/#', { qos: 1 });
  const byCertificate = await secure({ clientId: 'wss-cert', ...mqttTlsOptions(ca, operatorCert) });
  await byCertificate.publishAsync('chat/wss', 'x', { qos: 1 });
  await waitFor('the message over wss', () => received.includes('chat/wss'));
  assert.deepEqual(
    logins(lines).map((l) => [l.username, l.protocol, l.certificate]),
    [['operator', 'mqtt+wss', undefined], ['operator', 'mqtt+wss', fingerprintOf(operatorCert.cert)]],
  );

  // A viewer certificate gets the viewer's ACL over WebSocket too.
  const viewer = await secure({ ...mqttTlsOptions(ca, pki.cert('viewer', { cn: 'viewer' })) });
  assert.deepEqual(await subscribeCodes(viewer, ['chat/#'], 0), [128]);
  await assert.rejects(secure({ ...mqttTlsOptions(ca, pki.cert('nobody', { cn: 'nobody' })) }), (err: Error & { code?: number }) => err.code === 5);
  await assert.rejects(secure({ username: 'operator', password: 'op-secret', ...mqttTlsOptions(ca, pki.cert('stranger', { cn: 'operator', stranger: true })) }));
  const handshake = await waitFor('the handshake failure', () => events.find((e) => e.reason.startsWith('tls_handshake')));
  assert.deepEqual([handshake.type, handshake.reason, handshake.protocol], ['auth_failed', 'tls_handshake: UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'mqtt+wss']);
  assert.ok(events.some((e) => e.reason === 'unknown_certificate_user' && e.protocol === 'mqtt+wss'));
});

test('wss://: a socket whose TLS handshake is done but whose upgrade never comes is closed after the connect timeout; an upgraded one stays', async (t) => {
  const CONNECT_TIMEOUT_MS = 500;
  const { broker, wsPort } = await startWsBroker(t, { tls: true }, { limits: { connectTimeoutMs: CONNECT_TIMEOUT_MS } });
  const ca = pki.value.ca;
  const client = await wsClient(t, wsPort, { protocol: 'wss', username: 'operator', password: 'op-secret', ...mqttTlsOptions(ca) });
  let clientClosed = false;
  client.on('close', () => (clientClosed = true));

  const idle = tlsConnect({ host: '127.0.0.1', port: wsPort, servername: 'localhost', ca: readFileSync(ca) });
  t.after(() => idle.destroy());
  idle.on('error', () => {});
  let idleClosed = false;
  idle.once('close', () => (idleClosed = true));
  await waitFor('the TLS handshake of the idle socket', () => idle.authorized);
  idle.write('GET /mqtt HTTP/1.1\r\nHost: localhost\r\n');
  await waitFor('the idle wss socket to be closed after the connect timeout', () => idleClosed);

  // Several connect timeouts later, the upgraded client's deadline was cleared: it still works.
  await new Promise((resolve) => setTimeout(resolve, CONNECT_TIMEOUT_MS * 3));
  assert.equal(clientClosed, false, 'the upgraded wss connection was not closed');
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no PUBACK within ${WAIT_MS} ms`)), WAIT_MS)));
  await Promise.race([client.publishAsync('chat/still-here', 'x', { qos: 1 }), timeout]).finally(() => clearTimeout(timer));
  await waitFor('only the upgraded connection to be counted', () => broker.securityCounters().openConnections === 1);
});
