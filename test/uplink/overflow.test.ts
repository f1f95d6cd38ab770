// The outbox bounds during a long outage (issue 3, "Bounds"), and what a clean stop does with the
// backlog.
import assert from 'node:assert/strict';
import { after, before, beforeEach, test } from 'node:test';
import type { CommandResult } from '../../src/commands/result.js';
import { topics } from '../../src/topics.js';
import { USERS } from '../gateway/harness.js';
import { startModbusDevice, type ModbusDevice } from '../support/modbus-device.js';
import { connectClient, subscribeCollect } from '../support/mqtt-client.js';
import { startCloudBroker } from './cloud-broker.js';
import { cloudSubscriber } from './cloud-subscriber.js';
import { GATE_A, GATEWAY_ID, SITE, UNITS, firstArrivals, resetDevice, startUplinkGateway, storedOutbox, uniqueId, until } from './uplink-harness.js';

const WAIT_MS = 20_000;
const FEED = `site/${SITE}/app/feed`;
const GATEWAY_EVENT = topics.event(SITE, 'gateway', GATEWAY_ID);
const AVAILABILITY = topics.gatewayAvailability(SITE, GATEWAY_ID);

let device: ModbusDevice;
before(async () => {
  device = await startModbusDevice({ units: UNITS });
});
after(() => device?.stop());
beforeEach(() => resetDevice(device));

test('overflow: the oldest telemetry goes, results and security events stay, and the cloud hears of it', async (t) => {
  const cloud = await startCloudBroker();
  t.after(() => cloud.dispose());
  const consumer = await cloudSubscriber({ url: cloud.url, filters: [`site/${SITE}/#`], clientId: uniqueId('consumer') });
  t.after(() => consumer.close());
  const MAX = 60;
  const gw = await startUplinkGateway(t, device, cloud.url, { uplink: { forward: [`site/${SITE}/app/#`], max_messages: MAX } });
  await consumer.waitFor('online', (ms) => ms.some((m) => m.topic === AVAILABILITY && m.text === 'online'), WAIT_MS);
  const local = await connectClient({ port: gw.port, ...USERS.guard });
  t.after(() => local.endAsync(true));
  const localResults = await subscribeCollect(local, topics.result(SITE, GATE_A.kind, GATE_A.id), 1);
  const localEvents = await subscribeCollect(local, topics.event(SITE, GATE_A.kind, GATE_A.id), 1);

  await cloud.stop();
  const startedAt = Date.now();
  const FEED_COUNT = 150;
  const ids: string[] = [];
  for (let i = 1; i <= FEED_COUNT; i++) {
    await local.publishAsync(FEED, String(i), { qos: 1 });
    if (i % 30 === 0) {
      const id = uniqueId('lock');
      ids.push(id);
      await local.publishAsync(topics.command(SITE, GATE_A.kind, GATE_A.id, 'lock'), JSON.stringify({ id }), { qos: 1 });
      await localResults.waitFor((m) => JSON.parse(m.payload.toString()).id === id, WAIT_MS);
    }
  }
  await device.set(GATE_A.unit, 'di', 0, [true]);
  await localEvents.waitFor((m) => JSON.parse(m.payload.toString()).event === 'door_forced', WAIT_MS);
  for (let i = FEED_COUNT + 1; i <= FEED_COUNT + 20; i++) await local.publishAsync(FEED, String(i), { qos: 1 });
  const TOTAL = FEED_COUNT + 20;
  const stored = await until('the bound to be reached', () => {
    const s = storedOutbox(gw.dataDir);
    return s.dropped.telemetry > 0 && s.byClass.telemetry > 0 && s;
  }, WAIT_MS);
  assert.ok(stored.depth <= MAX, `the outbox holds at most ${MAX} messages (${stored.depth})`);
  assert.equal(stored.dropped.result + stored.dropped.security, 0, 'no result or security event dropped');

  await cloud.start();
  await consumer.waitFor('the overflow event and the newest telemetry', (ms) =>
    ms.some((m) => m.topic === GATEWAY_EVENT) && ms.some((m) => m.topic === FEED && m.text === String(TOTAL)), WAIT_MS);
  await until('the outbox to drain', () => storedOutbox(gw.dataDir).depth === 0, WAIT_MS);

  const event = JSON.parse(consumer.on(GATEWAY_EVENT)[0].text);
  assert.equal(event.event, 'outbox_overflow');
  assert.equal(event.kind, 'gateway');
  assert.equal(event.device, GATEWAY_ID);
  assert.equal(event.dropped_by_class.result, 0);
  assert.equal(event.dropped_by_class.security, 0);
  assert.ok(event.first_dropped_at >= startedAt && event.first_dropped_at <= event.last_dropped_at && event.last_dropped_at <= Date.now(), 'the span of lost time');
  assert.equal(event.unstored, 0);

  // What arrived is the newest telemetry, in order; with what was dropped it makes up everything.
  const feed = firstArrivals(consumer.messages, FEED).map(Number);
  assert.deepEqual(feed, [...feed].sort((a, b) => a - b), 'in order');
  assert.equal(feed.at(-1), TOTAL);
  assert.equal(TOTAL - feed.length, event.dropped_by_class.telemetry, 'arrived + dropped = produced');
  // Every result and the security event arrived.
  const results = consumer.on(topics.result(SITE, GATE_A.kind, GATE_A.id)).map((m) => (JSON.parse(m.text) as CommandResult).id);
  for (const id of ids) assert.ok(results.includes(id), `result ${id} arrived`);
  assert.ok(consumer.on(topics.event(SITE, GATE_A.kind, GATE_A.id)).some((m) => JSON.parse(m.text).event === 'door_forced'));
  // The gateway state of the new connection carries the outbox figures and the link state.
  const states = consumer.on(topics.gatewayState(SITE, GATEWAY_ID)).map((m) => JSON.parse(m.text));
  const gatewayState = states.find((s) => s.uplink.connection >= 2);
  assert.ok(gatewayState.outbox.dropped >= event.dropped, 'drops in the gateway state');
  assert.ok(gatewayState.outbox.depth > 0 && typeof gatewayState.outbox.oldest_age_s === 'number', 'the backlog it was about to send');
  assert.equal(gatewayState.uplink.state, 'birth');
  // Announced: not announced again on the next connection.
  assert.deepEqual(storedOutbox(gw.dataDir).unreported, { retained: 0, result: 0, security: 0, telemetry: 0 });
  assert.equal(storedOutbox(gw.dataDir).dropped.telemetry, event.dropped_by_class.telemetry, 'the totals are kept');
});

test('a clean stop drains the outbox first and leaves `offline` at the cloud', async (t) => {
  const cloud = await startCloudBroker();
  t.after(() => cloud.dispose());
  const consumer = await cloudSubscriber({ url: cloud.url, filters: [`site/${SITE}/#`], clientId: uniqueId('consumer') });
  t.after(() => consumer.close());
  const gw = await startUplinkGateway(t, device, cloud.url, { uplink: { forward: [`site/${SITE}/app/#`] } });
  await consumer.waitFor('online', (ms) => ms.some((m) => m.topic === AVAILABILITY && m.text === 'online'), WAIT_MS);
  const local = await connectClient({ port: gw.port, ...USERS.guard });
  for (let i = 1; i <= 100; i++) await local.publishAsync(FEED, String(i), { qos: 1 });
  await local.endAsync(true);
  await gw.stop();
  assert.equal(storedOutbox(gw.dataDir).depth, 0, 'drained before the link closed');
  await consumer.waitFor('offline', () => consumer.on(AVAILABILITY).at(-1)?.text === 'offline', WAIT_MS);
  assert.equal(firstArrivals(consumer.messages, FEED).length, 100);
});

test('a clean stop during an outage keeps the backlog for the next start', async (t) => {
  const cloud = await startCloudBroker();
  t.after(() => cloud.dispose());
  const consumer = await cloudSubscriber({ url: cloud.url, filters: [`site/${SITE}/#`], clientId: uniqueId('consumer') });
  t.after(() => consumer.close());
  const first = await startUplinkGateway(t, device, cloud.url, { uplink: { forward: [`site/${SITE}/app/#`], flush_on_stop_ms: 200 } });
  await consumer.waitFor('online', (ms) => ms.some((m) => m.topic === AVAILABILITY && m.text === 'online'), WAIT_MS);
  await cloud.stop();
  const local = await connectClient({ port: first.port, ...USERS.guard });
  for (let i = 1; i <= 50; i++) await local.publishAsync(FEED, String(i), { qos: 1 });
  await local.endAsync(true);
  await first.stop();
  assert.ok(storedOutbox(first.dataDir).depth >= 50, 'the backlog is on disk');

  await cloud.start();
  await startUplinkGateway(t, device, cloud.url, { dataDir: first.dataDir, uplink: { forward: [`site/${SITE}/app/#`] } });
  await consumer.waitFor('the backlog', (ms) => firstArrivals(ms, FEED).length === 50, WAIT_MS);
  assert.deepEqual(firstArrivals(consumer.messages, FEED), Array.from({ length: 50 }, (_, i) => String(i + 1)));
  await until('online again', () => consumer.on(AVAILABILITY).at(-1)?.text === 'online', WAIT_MS);
});
