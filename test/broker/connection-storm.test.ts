// Connection storms: hundreds of clients connecting and dropping at once at every stage of a
// session, and several QoS 0 flooders killed mid-flood while wildcard and exact subscribers are
// attached (extending flood.test.ts), on the broker and on a whole gateway. Afterwards every
// connection is gone on both ends and a well-behaved client still gets full service.
// Loopback only, bounded counts, every wait has a timeout.
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import type { MqttClient } from 'mqtt';
import { startModbusDevice } from '../support/modbus-device.js';
import { GATE_A, UNITS, USERS, clientAs, commandTopic, resultFor, sendCommand, startGateway, uniqueId, waitForCoil, watch, writesOf } from '../gateway/harness.js';
import { PACKET, RawClient, connectPacket, mqttClient, publishPacket, startBroker as startBrokerWith, subscribePacket, waitFor, type ConnectFields } from './support.js';

const ANONYMOUS_ALL = { enabled: true, publish: ['#'], subscribe: ['#'] };
const STORM_CLIENTS = 240;
const WAVES = 3;
const SETTLE_MS = 60_000;
const REPLY_MS = 30_000;

/** Open TCP sockets of this process, both ends of loopback connections included. */
function tcpSockets(): number {
  return process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap').length;
}

function waitForSockets(what: string, count: number): Promise<true> {
  return waitFor(`${what}: ${count} open TCP sockets (now ${tcpSockets()})`, () => tcpSockets() === count, SETTLE_MS);
}

/** A client that must keep its service: QoS 0 and QoS 1 round trips through the broker. */
async function roundTrip(client: MqttClient, topic: string, label: string): Promise<void> {
  assert.equal(client.connected, true, `the well-behaved client is still connected before ${label}`);
  const payloads = [`${label}-q0`, `${label}-q1`];
  const seen = new Set<string>();
  const onMessage = (t: string, p: Buffer) => t === topic && seen.add(p.toString());
  client.on('message', onMessage);
  try {
    await client.publishAsync(topic, payloads[0], { qos: 0 });
    await client.publishAsync(topic, payloads[1], { qos: 1 });
    await waitFor(`${label}: the well-behaved client's own messages`, () => payloads.every((p) => seen.has(p)), REPLY_MS);
  } finally {
    client.off('message', onMessage);
  }
}

// ---------------------------------------------------------------------------------------------
// Storm clients: each drops at one stage of a session.

const STAGES = [
  'tcp-only', // connects, sends nothing
  'mid-connect', // half a CONNECT
  'connect-no-wait', // a whole CONNECT, gone before the CONNACK
  'mid-subscribe', // CONNACK, then half a SUBSCRIBE
  'subscribe-no-wait', // a whole SUBSCRIBE, gone before the SUBACK
  'mid-qos1-publish', // half a QoS 1 PUBLISH
  'qos1-no-puback', // a whole QoS 1 PUBLISH, gone before the PUBACK
  'will-reset', // a will, then a reset without DISCONNECT: the will is published (MQTT-3.1.2-8)
] as const;
type Stage = (typeof STAGES)[number];

const half = (b: Buffer) => b.subarray(0, Math.max(1, b.length >> 1));

interface StormClient {
  id: string;
  stage: Stage;
  /** Drop with a reset (RST) rather than an orderly close (FIN) without DISCONNECT. */
  reset: boolean;
}

async function stormClient(t: TestContext, port: number, { id, stage, reset }: StormClient, fields: ConnectFields, commandTopicName: string): Promise<void> {
  const c = await RawClient.open(t, port);
  const drop = () => (reset ? c.socket.resetAndDestroy() : c.destroy());
  const login = connectPacket({ clientId: id, ...fields, ...(stage === 'will-reset' ? { will: { topic: 'storm/wills', payload: id, qos: 1 } } : {}) });
  const connected = async () => {
    c.send(login);
    const connack = await c.next(PACKET.CONNACK, REPLY_MS);
    assert.equal(connack.body[1], 0, `${id}: CONNACK return code`);
  };
  const subscribe = subscribePacket(7, [{ filter: 'storm/#', qos: 1 }, { filter: 'site/+/+/+/result', qos: 1 }]);
  const qos1 = publishPacket({ topic: commandTopicName, payload: JSON.stringify({ id }), qos: 1, messageId: 9 });
  switch (stage) {
    case 'tcp-only':
      break;
    case 'mid-connect':
      c.send(half(login));
      break;
    case 'connect-no-wait':
      c.send(login);
      break;
    case 'mid-subscribe':
      await connected();
      c.send(half(subscribe));
      break;
    case 'subscribe-no-wait':
      await connected();
      c.send(subscribe);
      break;
    case 'mid-qos1-publish':
      await connected();
      c.send(half(qos1));
      break;
    case 'qos1-no-puback':
      await connected();
      c.send(qos1);
      break;
    case 'will-reset':
      await connected();
      c.socket.resetAndDestroy();
      return;
  }
  drop();
}

/** `count` clients connect at once; client i drops at stage STAGES[i % STAGES.length]. Returns the will ids. */
async function storm(t: TestContext, port: number, wave: string, count: number, opts: { fields?: ConnectFields; stages?: readonly Stage[]; topic?: string } = {}): Promise<string[]> {
  const stages = opts.stages ?? STAGES;
  const wills: string[] = [];
  await Promise.all(
    Array.from({ length: count }, (_, i) => {
      const client: StormClient = { id: `storm-${wave}-${i}`, stage: stages[i % stages.length], reset: Math.floor(i / stages.length) % 2 === 0 };
      if (client.stage === 'will-reset') wills.push(client.id);
      return stormClient(t, port, client, opts.fields ?? {}, opts.topic ?? 'storm/pub');
    }),
  );
  return wills;
}

test(`${WAVES} waves of ${STORM_CLIENTS} clients connecting and dropping at once, at every stage of a session`, async (t) => {
  const { broker, port } = await startBroker(t);
  const probe = await mqttClient(t, port, { clientId: 'probe' });
  await probe.subscribeAsync('probe/echo', { qos: 1 });
  const watcher = await mqttClient(t, port, { clientId: 'watcher' });
  const wills = new Map<string, number>();
  watcher.on('message', (topic, payload) => topic === 'storm/wills' && wills.set(payload.toString(), (wills.get(payload.toString()) ?? 0) + 1));
  await watcher.subscribeAsync('storm/#', { qos: 1 });
  const baseline = tcpSockets();

  const expectedWills: string[] = [];
  for (let wave = 1; wave <= WAVES; wave++) {
    expectedWills.push(...(await storm(t, port, String(wave), STORM_CLIENTS)));
    await waitFor(`wave ${wave}: only the probe and the watcher connected (now ${broker.connectedClients()})`, () => broker.connectedClients() === 2, SETTLE_MS);
    await waitForSockets(`wave ${wave}`, baseline);
    await roundTrip(probe, 'probe/echo', `after wave ${wave}`);
  }

  // Every reset session published its will, once (MQTT-3.1.2-8).
  await waitFor(`${expectedWills.length} wills`, () => expectedWills.every((id) => wills.has(id)), SETTLE_MS);
  assert.deepEqual([...wills.entries()].filter(([, n]) => n !== 1), [], 'no will published twice');
  assert.equal(wills.size, expectedWills.length, 'only the sessions that were reset left a will');
  const fresh = await RawClient.connected(t, port, { clientId: 'fresh' });
  await fresh.ping();
  assert.equal(watcher.connected, true);
});

/** A buffer of QoS 0 PUBLISH packets: to the subscribed topic, then to topics nobody subscribes to, then subscribed again. */
function floodBytes(flooder: number): Buffer {
  const seen = publishPacket({ topic: `flood/${flooder}/a`, payload: `${flooder}` });
  const unseen = publishPacket({ topic: `void/${flooder}`, payload: 'x' });
  return Buffer.concat([...Array<Buffer>(200).fill(seen), ...Array<Buffer>(15_000).fill(unseen), ...Array<Buffer>(2_000).fill(seen)]);
}

/** Writes half the flood at once and the rest in 4 KiB pieces, without waiting for them to drain. */
function startFlood(flooder: RawClient, bytes: Buffer): void {
  flooder.send(bytes.subarray(0, bytes.length / 2));
  for (let offset = bytes.length / 2; offset < bytes.length; offset += 4096) flooder.send(bytes.subarray(offset, offset + 4096));
}

test('several QoS 0 flooders killed mid-flood, with wildcard and exact subscribers attached, leave the broker serving', async (t) => {
  const FLOODERS = 4;
  const { broker, port } = await startBroker(t);
  const probe = await mqttClient(t, port, { clientId: 'probe' });
  await probe.subscribeAsync('probe/echo', { qos: 1 });
  // A wildcard subscriber over every flooder, a '+' subscriber at QoS 1, and a raw exact subscriber.
  const wildcard = await mqttClient(t, port, { clientId: 'wildcard' });
  const perFlooder = new Array<number>(FLOODERS).fill(0);
  wildcard.on('message', (topic) => perFlooder[Number(topic.split('/')[1])]++);
  await wildcard.subscribeAsync('flood/#', { qos: 0 });
  const plus = await mqttClient(t, port, { clientId: 'plus' });
  let plusSeen = 0;
  plus.on('message', () => plusSeen++);
  await plus.subscribeAsync('flood/+/a', { qos: 1 });
  const exact = await RawClient.connected(t, port, { clientId: 'exact' });
  let exactSeen = 0;
  // Counted, not kept: thousands arrive.
  exact.frameHook = (f) => f.type === PACKET.PUBLISH && ++exactSeen > 0;
  exact.send(subscribePacket(1, [{ filter: 'flood/0/a', qos: 0 }]));
  await exact.next(PACKET.SUBACK);
  const subscribers = broker.connectedClients();
  const baseline = tcpSockets();

  const flooders = await Promise.all(Array.from({ length: FLOODERS }, (_, i) => RawClient.connected(t, port, { clientId: `flooder-${i}` })));
  flooders.forEach((f, i) => startFlood(f, floodBytes(i)));
  // Killed one after the other, each once its flood is reaching the subscribers, some later than others.
  for (const [i, flooder] of flooders.entries()) {
    await waitFor(`flooder ${i}'s messages at the wildcard subscriber`, () => perFlooder[i] >= 1 + i * 50 || flooder.isClosed, REPLY_MS);
    flooder.socket.resetAndDestroy();
  }

  await waitFor(`only the subscribers connected (now ${broker.connectedClients()})`, () => broker.connectedClients() === subscribers, SETTLE_MS);
  await waitForSockets('after the flood', baseline);
  await roundTrip(probe, 'probe/echo', 'after the flood');
  assert.ok(perFlooder.every((n) => n > 0), `the wildcard subscriber saw every flooder: ${perFlooder.join(', ')}`);
  assert.ok(plusSeen > 0 && exactSeen > 0, `the other subscribers got messages (plus ${plusSeen}, exact ${exactSeen})`);
  for (const client of [wildcard, plus]) assert.equal(client.connected, true);
  await exact.ping();

  // Subscribers still receive: a fresh publisher reaches all three.
  const before = [perFlooder[0], plusSeen, exactSeen];
  const publisher = await mqttClient(t, port, { clientId: 'publisher' });
  await publisher.publishAsync('flood/0/a', 'after', { qos: 1 });
  await waitFor('the subscribers to get a message published after the flood', () => perFlooder[0] > before[0] && plusSeen > before[1] && exactSeen > before[2], REPLY_MS);
});

test('gateway: a connection storm and flooders killed mid-flood leave it serving commands; a command cut mid-packet never runs', async (t) => {
  const device = await startModbusDevice({ units: UNITS });
  t.after(() => device.stop());
  const gw = await startGateway(t, device);
  const guard = await clientAs(t, gw.port, 'guard');
  const results = await watch(guard, 'site/hq/+/+/result');
  const viewer = await clientAs(t, gw.port, 'viewer');
  const site = await watch(viewer, 'site/hq/#');
  const baseline = tcpSockets();
  const mark = device.writes.length;

  // No failed logins here: the login limiter would lock 127.0.0.1 out. Clients that get as far as a
  // session log in as guard (one password hash each), so their count stays modest.
  const unlock = commandTopic(GATE_A, 'unlock');
  await storm(t, gw.port, 'gw-a', 120, { stages: ['tcp-only', 'mid-connect'] });
  await storm(t, gw.port, 'gw-b', 24, { stages: ['connect-no-wait', 'mid-subscribe', 'subscribe-no-wait', 'mid-qos1-publish'], fields: USERS.guard, topic: unlock });

  const flooders = await Promise.all([0, 1].map((i) => RawClient.connected(t, gw.port, { clientId: `gw-flooder-${i}`, ...USERS.guard })));
  flooders.forEach((f, i) =>
    startFlood(f, Buffer.concat(Array<Buffer>(8_000).fill(publishPacket({ topic: `site/hq/flood/${i}/x/y`, payload: `${i}` })))),
  );
  for (const [i, flooder] of flooders.entries()) {
    await waitFor(`flooder ${i}'s messages at the viewer`, () => site.messages.some((m) => m.topic === `site/hq/flood/${i}/x/y`) || flooder.isClosed, REPLY_MS);
    flooder.socket.resetAndDestroy();
  }
  await waitForSockets('after the storm and the flood', baseline);

  // Half a command PUBLISH is no command: no result, no write.
  assert.deepEqual(results.messages.map((m) => m.topic), [], 'no command result from the storm');
  assert.deepEqual(writesOf(device, GATE_A.unit, mark), [], 'no write from the storm');
  assert.equal(viewer.connected, true);
  assert.ok(site.messages.length > 0);

  // The gateway still serves: a command from the well-behaved client runs.
  const id = uniqueId('after-storm');
  await sendCommand(guard, GATE_A, 'lock', { id });
  assert.equal((await resultFor(results, id, REPLY_MS)).status, 'ok');
  await waitForCoil(device, GATE_A.unit, 0, false, mark, REPLY_MS);
  assert.equal(guard.connected, true);
});

function startBroker(t: TestContext) {
  return startBrokerWith(t, { anonymous: ANONYMOUS_ALL });
}
