// Store and forward through cloud outages (issue 3): mosquitto is the cloud broker, stopped and
// restarted under the gateway; a consumer with a persistent session sees what the cloud got.
// Every message arrives, at least once and with few duplicates; per topic in production order;
// retained topics end at their newest value.
import assert from 'node:assert/strict';
import { after, before, beforeEach, test, type TestContext } from 'node:test';
import { topics } from '../../src/topics.js';
import { startModbusDevice, type ModbusDevice } from '../support/modbus-device.js';
import { connectClient, subscribeCollect, type MqttClient } from '../support/mqtt-client.js';
import { USERS } from '../gateway/harness.js';
import { startCloudBroker, type CloudBroker } from './cloud-broker.js';
import { cloudSubscriber, type CloudSubscriber } from './cloud-subscriber.js';
import { GATE_A, SITE, UNITS, firstArrivals, resetDevice, sleep, startUplinkGateway, storedOutbox, uniqueId, until, type UplinkGateway } from './uplink-harness.js';

const WAIT_MS = 20_000;
const INFLIGHT = 20;
const FEED = `site/${SITE}/app/feed`;
const LEVEL = `site/${SITE}/app/level`;
const GATE_A_EVENT = topics.event(SITE, GATE_A.kind, GATE_A.id);
const GATE_A_STATE = topics.state(SITE, GATE_A.kind, GATE_A.id);

let device: ModbusDevice;
before(async () => {
  device = await startModbusDevice({ units: UNITS });
});
after(() => device?.stop());
beforeEach(() => resetDevice(device));

interface Setup {
  cloud: CloudBroker;
  consumer: CloudSubscriber;
  gw: UplinkGateway;
  local: MqttClient;
}

async function setUp(t: TestContext): Promise<Setup> {
  const cloud = await startCloudBroker();
  t.after(() => cloud.dispose());
  const consumer = await cloudSubscriber({ url: cloud.url, filters: [`site/${SITE}/#`], clientId: uniqueId('consumer') });
  t.after(() => consumer.close());
  const gw = await startUplinkGateway(t, device, cloud.url, { uplink: { forward: [`site/${SITE}/app/#`], inflight: INFLIGHT } });
  const local = await connectClient({ port: gw.port, ...USERS.guard });
  t.after(() => local.endAsync(true));
  const online = topics.gatewayAvailability(SITE, 'gw');
  await consumer.waitFor('the gateway online at the cloud', (ms) => ms.some((m) => m.topic === online && m.text === 'online'), WAIT_MS);
  return { cloud, consumer, gw, local };
}

/** Every payload 1..count arrived, first arrivals in order, and at most `maxDuplicates` repeats. */
function assertComplete(consumer: CloudSubscriber, topic: string, count: number, maxDuplicates: number): void {
  const expected = Array.from({ length: count }, (_, i) => String(i + 1));
  assert.deepEqual(firstArrivals(consumer.messages, topic), expected, `${topic}: every message, in order`);
  const duplicates = consumer.on(topic).length - count;
  assert.ok(duplicates <= maxDuplicates, `${topic}: ${duplicates} duplicates (bound ${maxDuplicates})`);
}

test('outage: events, state changes and forwarded messages made while the cloud is down all arrive after it returns', async (t) => {
  const { cloud, consumer, gw, local } = await setUp(t);
  const localEvents = await subscribeCollect(local, GATE_A_EVENT, 1);

  await cloud.stop();
  await until('the link to notice', () => gw.gateway['uplink']?.stateFields().uplink.state !== 'up', WAIT_MS);

  const FEED_COUNT = 300;
  const LEVEL_COUNT = 40;
  for (let i = 1; i <= FEED_COUNT; i++) {
    await local.publishAsync(FEED, String(i), { qos: 1 });
    if (i % (FEED_COUNT / LEVEL_COUNT) === 0) await local.publishAsync(LEVEL, String(i / (FEED_COUNT / LEVEL_COUNT)), { qos: 1, retain: true });
  }
  // The door of the (locked) gate opens and closes: door_forced (a security event), door_closed,
  // and a state change each time.
  const TOGGLES = 6;
  for (let i = 0; i < TOGGLES; i++) {
    const open = i % 2 === 0;
    const seen = localEvents.messages.length;
    await device.set(GATE_A.unit, 'di', 0, [open]);
    await localEvents.waitFor((m) => localEvents.messages.indexOf(m) >= seen && JSON.parse(m.payload.toString()).event === (open ? 'door_forced' : 'door_closed'), WAIT_MS);
  }
  const produced = () => localEvents.messages.map((m) => m.payload.toString());

  const waiting = await until('the outbox to hold the backlog', () => {
    const stats = storedOutbox(gw.dataDir);
    return stats.depth >= FEED_COUNT && stats;
  }, WAIT_MS);
  assert.ok(waiting.byClass.security >= 1, 'the security event is in the outbox');
  assert.ok(waiting.byClass.retained <= 2 + 3 * 2 + 1, 'retained values are superseded: at most one per topic');

  await cloud.start();
  await consumer.waitFor('every feed message, the last level and every door event', (ms) =>
    firstArrivals(ms, FEED).length === FEED_COUNT &&
    ms.some((m) => m.topic === LEVEL && m.text === String(LEVEL_COUNT)) &&
    produced().every((p) => ms.some((m) => m.topic === GATE_A_EVENT && m.text === p)), WAIT_MS);
  await until('the outbox to drain', () => storedOutbox(gw.dataDir).depth === 0, WAIT_MS);

  assertComplete(consumer, FEED, FEED_COUNT, INFLIGHT);
  assert.deepEqual(firstArrivals(consumer.messages, GATE_A_EVENT), produced(), 'door events in production order');
  const levels = firstArrivals(consumer.messages, LEVEL).map(Number);
  assert.deepEqual(levels, [...levels].sort((a, b) => a - b), 'retained values of one topic never go backwards');

  // A newcomer at the cloud gets the newest retained values.
  const newcomer = await cloudSubscriber({ url: cloud.url, filters: [LEVEL, GATE_A_STATE], clientId: uniqueId('newcomer'), clean: true });
  t.after(() => newcomer.close());
  await newcomer.waitFor('both retained values', (ms) => ms.length >= 2, WAIT_MS);
  assert.equal(newcomer.on(LEVEL)[0].text, String(LEVEL_COUNT));
  const state = JSON.parse(newcomer.on(GATE_A_STATE)[0].text);
  assert.deepEqual(state, gw.gateway['devices'].get(GATE_A.id)!.state(), 'the gate state at the cloud is the current one');
});

test('mosquitto restarted again and again during a steady stream: nothing lost, order kept', async (t) => {
  const { cloud, consumer, gw, local } = await setUp(t);
  let sent = 0;
  let streaming = true;
  const stream = (async () => {
    while (streaming) {
      await local.publishAsync(FEED, String(++sent), { qos: 1 });
      await sleep(2);
    }
  })();
  // Each restart comes once the link is up again and the stream has moved on; the broker starts
  // again once the gateway has noticed it gone. No sleep decides when.
  const uplink = () => gw.gateway['uplink']!.stateFields().uplink;
  const upAndFlowing = async (connection: number) => {
    const from = sent;
    await until(`connection ${connection} up with the stream moving on`, () => uplink().state === 'up' && uplink().connection >= connection && sent >= from + 50, WAIT_MS);
  };
  const RESTARTS = 5;
  for (let i = 0; i < RESTARTS; i++) {
    await upAndFlowing(i + 1);
    await cloud.stop();
    await until('the gateway to notice the broker gone', () => uplink().state !== 'up', WAIT_MS);
    await cloud.start();
  }
  await upAndFlowing(RESTARTS + 1);
  streaming = false;
  await stream;
  await consumer.waitFor(`all ${sent} feed messages`, (ms) => firstArrivals(ms, FEED).length >= sent, WAIT_MS);
  await until('the outbox to drain', () => storedOutbox(gw.dataDir).depth === 0, WAIT_MS);
  // Per restart: the window in flight at the gateway, and what mosquitto had in flight to the consumer.
  assertComplete(consumer, FEED, sent, RESTARTS * 2 * INFLIGHT);
  assert.ok(gw.gateway['uplink']!.stateFields().uplink.connection >= RESTARTS + 1, 'the link came back after every restart');
});
