// The gateway's broker listeners end to end: TLS and WebSocket over TLS from the config, a gate
// unlocked over WSS (MQTT.js) and over TLS (mosquitto_pub with a password and with a client
// certificate), results received; listeners turned off; TCP bound to loopback only.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { connect as netConnect } from 'node:net';
import { after, before, test, type TestContext } from 'node:test';
import mqtt, { type MqttClient } from 'mqtt';
import type { Gateway } from '../../src/gateway.js';
import { mosquittoPubTls } from '../broker/listener-support.js';
import { commandTopic, resultFor, sendCommand, startGatewayFrom, tempDataDir, topicOf, uniqueId, waitForCoil } from '../support/gateway.js';
import { subscribeCollect } from '../support/mqtt-client.js';
import { makePki, type Pki } from '../support/pki.js';
import { freePort } from '../support/ports.js';
import { GATE_A, USERS, configDocument, siteDevice } from '../support/site.js';
import { WAIT_MS } from '../support/wait.js';

const device = siteDevice();
let pki: Pki;
before(() => {
  pki = makePki();
});
after(() => pki?.dispose());

async function startWithBroker(t: TestContext, broker: Record<string, unknown>): Promise<Gateway> {
  const document = await configDocument(device.port, tempDataDir(t));
  document.broker = { ...(document.broker as Record<string, unknown>), ...broker };
  return (await startGatewayFrom(t, document)).gateway;
}

function connectWss(t: TestContext, port: number, opts: mqtt.IClientOptions): Promise<MqttClient> {
  const client = mqtt.connect(`wss://localhost:${port}/mqtt`, { protocolVersion: 4, reconnectPeriod: 0, connectTimeout: WAIT_MS, ca: readFileSync(pki.ca), ...opts });
  t.after(() => client.endAsync(true));
  return new Promise((resolve, reject) => {
    client.once('connect', () => resolve(client));
    client.once('error', reject);
    client.once('close', () => reject(new Error('WSS connection closed before CONNACK')));
  });
}

/** Local addresses (hex, as in /proc/net/tcp) listening on `port`. */
function listeningAddresses(port: number): string[] {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  const found: string[] = [];
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const line of readFileSync(table, 'utf8').split('\n').slice(1)) {
      const [, local, , state] = line.trim().split(/\s+/);
      // State 0A is LISTEN.
      if (local?.endsWith(`:${hexPort}`) && state === '0A') found.push(local.slice(0, local.indexOf(':')));
    }
  }
  return found;
}

function refusesConnections(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = netConnect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', (err: NodeJS.ErrnoException) => resolve(err.code === 'ECONNREFUSED'));
  });
}

test('a gate unlocked over WSS and over TLS (password and client certificate), results received', async (t) => {
  const guardCert = pki.issue('guard', { cn: USERS.guard.username });
  const gateway = await startWithBroker(t, {
    tls: { enabled: true, host: '127.0.0.1', port: 0, cert: pki.server.cert, key: pki.server.key, ca: pki.ca, client_certificates: 'optional' },
    ws: { enabled: true, host: '127.0.0.1', port: 0, tls: true },
  });
  const ports = gateway.brokerPorts;
  assert.ok(ports.tcp && ports.tls && ports.ws, JSON.stringify(ports));
  assert.equal(gateway.brokerPort, ports.tcp);

  const wss = await connectWss(t, ports.ws!, { ...USERS.guard });
  const results = await subscribeCollect(wss, topicOf(GATE_A, 'result'));

  // Over WSS, with a password.
  let mark = device.writes.length;
  const overWss = uniqueId('wss');
  await sendCommand(wss, GATE_A, 'unlock', { id: overWss, duration_ms: 200 });
  assert.equal((await resultFor(results, overWss)).status, 'ok');
  await waitForCoil(device, GATE_A.unit, 0, true, mark);
  await waitForCoil(device, GATE_A.unit, 0, false, mark);

  // Over TLS with mosquitto_pub, by password and then by client certificate alone.
  for (const [label, credentials] of [
    ['tls-password', { ...USERS.guard }],
    ['tls-certificate', { client: guardCert }],
  ] as const) {
    mark = device.writes.length;
    const id = uniqueId(label);
    const pub = await mosquittoPubTls({ port: ports.tls!, ca: pki.ca, ...credentials, topic: commandTopic(GATE_A, 'unlock'), message: JSON.stringify({ id, duration_ms: 200 }), qos: 1 });
    assert.equal(pub.code, 0, pub.stderr);
    const result = await resultFor(results, id);
    assert.equal(result.status, 'ok', JSON.stringify(result));
    await waitForCoil(device, GATE_A.unit, 0, true, mark);
    await waitForCoil(device, GATE_A.unit, 0, false, mark);
  }

  // The viewer is the viewer over every transport: its command is answered forbidden.
  const forbidden = uniqueId('viewer-tls');
  const pub = await mosquittoPubTls({ port: ports.tls!, ca: pki.ca, ...USERS.viewer, topic: commandTopic(GATE_A, 'unlock'), message: JSON.stringify({ id: forbidden }), qos: 1 });
  assert.equal(pub.code, 0, pub.stderr);
  assert.equal((await resultFor(results, forbidden)).code, 'forbidden');
});

test('listeners can be turned off (their ports stay closed) and the TCP listener bound to loopback only', async (t) => {
  const [tcpPort, wsPort] = [await freePort(), await freePort()];
  const gateway = await startWithBroker(t, {
    port: tcpPort,
    tcp_enabled: false,
    tls: { enabled: true, host: '127.0.0.1', port: 0, cert: pki.server.cert, key: pki.server.key },
    ws: { enabled: false, port: wsPort },
  });
  const ports = gateway.brokerPorts;
  assert.equal(ports.tcp, undefined);
  assert.equal(ports.ws, undefined);
  assert.ok(ports.tls);
  assert.equal(gateway.brokerPort, ports.tls, 'with TCP off, brokerPort is the first enabled listener');
  assert.equal(await refusesConnections(tcpPort), true);
  assert.equal(await refusesConnections(wsPort), true);
  assert.deepEqual(listeningAddresses(ports.tls!), ['0100007F']);

  const loopback = await startWithBroker(t, { host: '127.0.0.1', port: 0 });
  const tcp = loopback.brokerPorts.tcp!;
  assert.deepEqual(loopback.brokerPorts, { tcp, tls: undefined, ws: undefined });
  assert.deepEqual(listeningAddresses(tcp), ['0100007F'], 'bound to 127.0.0.1 only, not 0.0.0.0');
  const sub = await subscribeCollect(
    await new Promise<MqttClient>((resolve, reject) => {
      const client = mqtt.connect({ host: '127.0.0.1', port: tcp, protocolVersion: 4, reconnectPeriod: 0, ...USERS.guard });
      t.after(() => client.endAsync(true));
      client.once('connect', () => resolve(client));
      client.once('error', reject);
    }),
    topicOf(GATE_A, 'state'),
  );
  await sub.waitFor((m) => m.retain);
});
