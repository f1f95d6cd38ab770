// kill -9 of the gateway (a `gatehouse run` child process) with the cloud link up and during an
// outage: the broker publishes the will, and nothing committed to the outbox is lost.
import assert from 'node:assert/strict';
import { after, before, beforeEach, test } from 'node:test';
import { topics } from '../../src/topics.js';
import { USERS } from '../gateway/harness.js';
import { startModbusDevice, type ModbusDevice } from '../support/modbus-device.js';
import { connectClient } from '../support/mqtt-client.js';
import { startCloudBroker } from './cloud-broker.js';
import { cloudSubscriber } from './cloud-subscriber.js';
import { spawnGateway, writeConfig } from './gateway-process.js';
import { GATE_A, GATEWAY_ID, SITE, UNITS, firstArrivals, resetDevice, storedOutbox, uniqueId, until, uplinkDataDir, uplinkDocument } from './uplink-harness.js';

const WAIT_MS = 20_000;
const AVAILABILITY = topics.gatewayAvailability(SITE, GATEWAY_ID);
const GATEWAY_STATE = topics.gatewayState(SITE, GATEWAY_ID);
const FEED = `site/${SITE}/app/feed`;
const GATE_A_EVENT = topics.event(SITE, GATE_A.kind, GATE_A.id);

let device: ModbusDevice;
before(async () => {
  device = await startModbusDevice({ units: UNITS });
});
after(() => device?.stop());
beforeEach(() => resetDevice(device));

test('the will: kill -9 of the gateway with the link up leaves `offline` retained at the cloud', async (t) => {
  const cloud = await startCloudBroker();
  t.after(() => cloud.dispose());
  const dataDir = uplinkDataDir(t);
  const config = writeConfig(dataDir, await uplinkDocument(device.port, dataDir, cloud.url));
  const consumer = await cloudSubscriber({ url: cloud.url, filters: [AVAILABILITY, GATEWAY_STATE], clientId: uniqueId('ops'), clean: true });
  t.after(() => consumer.close());

  const gateway = await spawnGateway(t, config);
  await consumer.waitFor('online', (ms) => ms.some((m) => m.topic === AVAILABILITY && m.text === 'online'), WAIT_MS);
  const killed = await gateway.kill('SIGKILL');
  assert.equal(killed.signal, 'SIGKILL');
  await consumer.waitFor('the will', (ms) => ms.at(-1)?.topic === AVAILABILITY && ms.at(-1)?.text === 'offline', WAIT_MS);

  // The retained value is the will, and the next session announces itself with a higher counter.
  const late = await cloudSubscriber({ url: cloud.url, filters: [AVAILABILITY], clientId: uniqueId('late'), clean: true });
  t.after(() => late.close());
  await late.waitFor('the retained availability', (ms) => ms.length > 0, WAIT_MS);
  assert.deepEqual(late.messages.map((m) => [m.text, m.retain]), [['offline', true]]);
  const sessions = () => consumer.on(GATEWAY_STATE).map((m) => JSON.parse(m.text).session as number);
  const firstSession = Math.max(...sessions());
  await spawnGateway(t, config);
  await consumer.waitFor('online again', () => consumer.on(AVAILABILITY).at(-1)?.text === 'online', WAIT_MS);
  await until('a state from the new session', () => Math.max(...sessions()) > firstSession, WAIT_MS);
});

test('kill -9 during an outage, restart, reconnect: nothing committed is lost', async (t) => {
  const cloud = await startCloudBroker();
  t.after(() => cloud.dispose());
  const dataDir = uplinkDataDir(t);
  const config = writeConfig(dataDir, await uplinkDocument(device.port, dataDir, cloud.url, { uplink: { forward: [`site/${SITE}/app/#`] } }));
  const consumer = await cloudSubscriber({ url: cloud.url, filters: [`site/${SITE}/#`], clientId: uniqueId('consumer') });
  t.after(() => consumer.close());

  const first = await spawnGateway(t, config);
  await consumer.waitFor('online', (ms) => ms.some((m) => m.topic === AVAILABILITY && m.text === 'online'), WAIT_MS);
  await cloud.stop();

  const local = await connectClient({ port: first.port, ...USERS.guard });
  const COUNT = 200;
  for (let i = 1; i <= COUNT; i++) await local.publishAsync(FEED, String(i), { qos: 1 });
  // A forced door during the outage: a security event and a state change.
  await device.set(GATE_A.unit, 'di', 0, [true]);
  await until('the backlog committed', () => {
    const stats = storedOutbox(dataDir);
    return stats.byClass.telemetry >= COUNT && stats.byClass.security >= 1;
  }, WAIT_MS);
  await local.endAsync(true);
  const killed = await first.kill('SIGKILL');
  assert.equal(killed.signal, 'SIGKILL');
  const kept = storedOutbox(dataDir);
  assert.ok(kept.depth >= COUNT + 1, `the outbox survived the kill (${kept.depth} rows)`);

  await cloud.start();
  await spawnGateway(t, config);
  await consumer.waitFor('the whole backlog', (ms) =>
    firstArrivals(ms, FEED).length === COUNT && ms.some((m) => m.topic === GATE_A_EVENT && JSON.parse(m.text).event === 'door_forced'), WAIT_MS);
  assert.deepEqual(firstArrivals(consumer.messages, FEED), Array.from({ length: COUNT }, (_, i) => String(i + 1)), 'every message, in order');
  await until('the outbox to drain', () => storedOutbox(dataDir).depth === 0, WAIT_MS);
});
