// broker.limits.max_queued_messages and broker.limits.max_client_id_length in the running broker,
// with MQTT.js persistent sessions and raw sockets: an offline session keeps at most the limit
// (the oldest; newer ones are dropped, counted and logged once), and the count stays right across
// delivery on reconnect and a clean-session wipe; a client id over the limit gets CONNACK 2.
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import mqtt, { type MqttClient } from 'mqtt';
import type { Broker } from '../../src/broker/broker.js';
import { brokerLimitsFromConfig } from '../../src/broker/client-limits.js';
import { loadConfig } from '../../src/config.js';
import { demo } from '../config/support.js';
import {
  PACKET,
  RawClient,
  SITE,
  WAIT_MS,
  connectPacket,
  mqttClient,
  parsePublish,
  pubcompPacket,
  pubrecPacket,
  startBroker,
  waitFor,
  type LogLine,
} from './support.js';

const VIEWER = { username: 'viewer', password: 'view-secret' };
const EVENTS = `site/${SITE}/gate/g1/event`;
const LIMIT = 10;

interface Session {
  client: MqttClient;
  /** `n` of each message received, in order. */
  received: number[];
}

/** An MQTT.js client listening for messages before its CONNACK, so that none of the offline queue is missed. */
async function openSession(t: TestContext, port: number, clientId: string, clean: boolean): Promise<Session> {
  const client = mqtt.connect({ host: '127.0.0.1', port, protocolVersion: 4, reconnectPeriod: 0, connectTimeout: WAIT_MS, clientId, clean, ...VIEWER });
  t.after(() => new Promise<void>((resolve) => client.end(true, {}, () => resolve())));
  const received: number[] = [];
  client.on('message', (_topic, payload) => void received.push((JSON.parse(payload.toString()) as { n: number }).n));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('MQTT.js connect timed out')), WAIT_MS);
    client.once('connect', () => {
      clearTimeout(timer);
      resolve();
    });
    client.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
  return { client, received };
}

async function subscribe(client: MqttClient, filter: string): Promise<void> {
  const granted = await client.subscribeAsync(filter, { qos: 1 });
  assert.equal(granted[0]?.qos, 1);
}

async function close(client: MqttClient): Promise<void> {
  await client.endAsync();
}

async function publishEvents(broker: Broker, from: number, count: number): Promise<void> {
  for (let n = from; n < from + count; n++) await broker.publish(EVENTS, JSON.stringify({ n }), { qos: 1, retain: false });
}

/** What aedes' persistence really holds for the client, read through its own queue stream. */
async function storedFor(broker: Broker, clientId: string): Promise<number> {
  const persistence = (broker as unknown as { aedes: { persistence: { outgoingStream(c: { id: string }): AsyncIterable<unknown> } } }).aedes.persistence;
  let stored = 0;
  for await (const _ of persistence.outgoingStream({ id: clientId })) stored++;
  return stored;
}

const range = (from: number, count: number) => Array.from({ length: count }, (_, i) => from + i);
const queueWarnings = (lines: LogLine[], clientId: string) => lines.filter((l) => l.level === 40 && l.limit === 'max_queued_messages' && l.clientId === clientId);

test('max_queued_messages: an offline persistent session keeps the oldest `limit` messages; newer ones are dropped, counted, logged once', async (t) => {
  const { broker, port, lines } = await startBroker(t, { limits: { maxQueuedMessages: LIMIT } });
  const away = await openSession(t, port, 'screen-away', false);
  await subscribe(away.client, `site/${SITE}/#`);
  await close(away.client);
  // A second persistent session that stays connected is not limited: its stored copies are its
  // messages in flight (broker.limits.max_inflight).
  const present = await openSession(t, port, 'screen-present', false);
  await subscribe(present.client, `site/${SITE}/#`);

  await publishEvents(broker, 0, 3 * LIMIT);
  await waitFor('the connected session to get all of them', () => present.received.length === 3 * LIMIT);
  assert.deepEqual(present.received, range(0, 3 * LIMIT));

  assert.equal(await storedFor(broker, 'screen-away'), LIMIT, 'the persistence holds exactly the limit');
  assert.equal(broker.securityCounters().queuedMessagesDropped, 2 * LIMIT);
  // The connected session's copies go once it has acknowledged them.
  await waitFor('only the offline queue to be stored', () => broker.securityCounters().currentQueuedMessages === LIMIT);
  assert.equal(await storedFor(broker, 'screen-present'), 0);
  const warnings = queueWarnings(lines, 'screen-away');
  assert.equal(warnings.length, 1, 'one line for the burst');
  assert.equal(warnings[0].max, LIMIT);
  assert.equal(queueWarnings(lines, 'screen-present').length, 0);

  const back = await openSession(t, port, 'screen-away', false);
  await waitFor('the queued messages', () => back.received.length >= LIMIT);
  await waitFor('every queued message to be acknowledged', () => broker.securityCounters().currentQueuedMessages === 0);
  // A live message after the queue: nothing else was queued behind it.
  await publishEvents(broker, 1000, 1);
  await waitFor('the live message', () => back.received.includes(1000));
  assert.deepEqual(back.received, [...range(0, LIMIT), 1000], 'the oldest were kept, in order');
  const ended = lines.find((l) => l.msg === 'mqtt offline session queue accepting messages again' && l.clientId === 'screen-away');
  assert.equal(ended?.dropped, 2 * LIMIT, 'the end of the burst is logged with how many were dropped');
  await waitFor('the connected session to get the live message', () => present.received.length === 3 * LIMIT + 1);
  await waitFor('every copy to be acknowledged', () => broker.securityCounters().currentQueuedMessages === 0);
  assert.equal(await storedFor(broker, 'screen-away'), 0);
  assert.equal(await storedFor(broker, 'screen-present'), 0);
  assert.equal(broker.securityCounters().queuedMessagesDropped, 2 * LIMIT, 'nothing dropped while connected');
});

test('max_queued_messages: a clean-session connect empties the queue and its count; a new persistent session starts from zero', async (t) => {
  const { broker, port, lines } = await startBroker(t, { limits: { maxQueuedMessages: LIMIT } });
  const first = await openSession(t, port, 'kiosk', false);
  await subscribe(first.client, `site/${SITE}/#`);
  await close(first.client);
  await publishEvents(broker, 0, 2 * LIMIT);
  assert.equal(broker.securityCounters().currentQueuedMessages, LIMIT);

  const clean = await openSession(t, port, 'kiosk', true); // MQTT-3.1.2-6: the old session is discarded
  await waitFor('the old queue to be emptied', () => broker.securityCounters().currentQueuedMessages === 0);
  assert.equal(await storedFor(broker, 'kiosk'), 0);
  await close(clean.client);
  assert.deepEqual(clean.received, [], 'a clean session is not sent the old session\'s messages');

  const again = await openSession(t, port, 'kiosk', false);
  await subscribe(again.client, `site/${SITE}/#`);
  await close(again.client);
  await publishEvents(broker, 100, LIMIT + 3);
  assert.equal(await storedFor(broker, 'kiosk'), LIMIT, 'the full limit again, not what was left of the old count');
  assert.equal(broker.securityCounters().queuedMessagesDropped, LIMIT + 3);
  assert.equal(queueWarnings(lines, 'kiosk').length, 2, 'one line per burst');
});

test('max_queued_messages: QoS 2 messages count until PUBCOMP, across the PUBREC/PUBREL exchange after reconnect', async (t) => {
  const { broker, port } = await startBroker(t, { limits: { maxQueuedMessages: LIMIT } });
  const OPERATOR = { username: 'operator', password: 'op-secret' };
  const subscriber = await mqttClient(t, port, { ...OPERATOR, clientId: 'chat-reader', clean: false });
  assert.equal((await subscriber.subscribeAsync('chat/#', { qos: 2 }))[0]?.qos, 2);
  await subscriber.endAsync();
  const publisher = await mqttClient(t, port, { ...OPERATOR, clientId: 'chat-writer' });
  for (let n = 0; n < 3 * LIMIT; n++) await publisher.publishAsync('chat/room', JSON.stringify({ n }), { qos: 2 });
  assert.equal(await storedFor(broker, 'chat-reader'), LIMIT);
  assert.equal(broker.securityCounters().queuedMessagesDropped, 2 * LIMIT);

  // Raw bytes: each PUBREC is sent only once every queued PUBLISH has arrived (aedes 1.2.0 can
  // answer a PUBREC with the PUBREL of the next message while it is still sending the queue).
  const back = await RawClient.connected(t, port, { ...OPERATOR, clientId: 'chat-reader', clean: false });
  await waitFor('the queued messages', () => back.frames.filter((f) => f.type === PACKET.PUBLISH).length >= LIMIT);
  const publishes = back.frames.filter((f) => f.type === PACKET.PUBLISH).map(parsePublish);
  assert.deepEqual(publishes.map((p) => (JSON.parse(p.payload.toString()) as { n: number }).n), range(0, LIMIT));
  for (const p of publishes) {
    assert.equal(p.qos, 2);
    back.send(pubrecPacket(p.messageId!));
    assert.equal((await back.next(PACKET.PUBREL)).body.readUInt16BE(0), p.messageId);
    assert.equal(await storedFor(broker, 'chat-reader'), LIMIT - publishes.indexOf(p), 'stored until PUBCOMP');
    back.send(pubcompPacket(p.messageId!));
  }
  await waitFor('every PUBCOMP', () => broker.securityCounters().currentQueuedMessages === 0);
  assert.equal(await storedFor(broker, 'chat-reader'), 0);
});

test('max_queued_messages: 0 keeps every message', async (t) => {
  const { broker, port, lines } = await startBroker(t, { limits: { maxQueuedMessages: 0 } });
  const away = await openSession(t, port, 'archive', false);
  await subscribe(away.client, EVENTS);
  await close(away.client);
  await publishEvents(broker, 0, 3 * LIMIT);
  assert.equal(await storedFor(broker, 'archive'), 3 * LIMIT);
  assert.deepEqual(broker.securityCounters().queuedMessagesDropped, 0);
  assert.equal(queueWarnings(lines, 'archive').length, 0);
  const back = await openSession(t, port, 'archive', false);
  await waitFor('all of them', () => back.received.length === 3 * LIMIT);
  assert.deepEqual(back.received, range(0, 3 * LIMIT));
});

test('max_client_id_length: a longer client id gets CONNACK 2 and one log line; one of exactly the limit in bytes is accepted', async (t) => {
  const { broker, port, lines } = await startBroker(t, { limits: { maxClientIdLength: 32 } });
  const refused = await RawClient.open(t, port);
  // 11 three-byte characters: 11 UTF-16 units, 33 UTF-8 bytes.
  refused.send(connectPacket({ ...VIEWER, clientId: '€'.repeat(11), clean: false }));
  const connack = await refused.next(PACKET.CONNACK);
  assert.deepEqual([...connack.body], [0, 2], 'MQTT-3.1.3-9: identifier rejected, Session Present 0');
  assert.ok(await refused.closesWithin(), 'the connection is closed');
  const line = lines.find((l) => l.limit === 'max_client_id_length');
  assert.ok(line, 'one log line names the limit');
  assert.equal(line.clientId, '€'.repeat(11));
  assert.match(String(line.reason), /33 bytes/);
  assert.equal(broker.securityCounters().clientIdsRefused, 1);

  const accepted = await RawClient.connected(t, port, { ...VIEWER, clientId: 'x'.repeat(32), clean: false });
  await accepted.ping();
  const viaMqttJs = await mqttClient(t, port, { ...VIEWER, clientId: 'y'.repeat(33) }).then(
    () => 'connected',
    (err: Error & { code?: number }) => err.code,
  );
  assert.equal(viaMqttJs, 2, 'MQTT.js sees return code 2');
  assert.equal(broker.securityCounters().clientIdsRefused, 2);
});

test('broker.limits.max_queued_messages and max_client_id_length: defaults, environment overrides, ranges', () => {
  const defaults = loadConfig({ document: demo(), env: {} });
  assert.ok(defaults.ok);
  assert.equal(defaults.config.broker.limits.max_queued_messages, 1000);
  assert.equal(defaults.config.broker.limits.max_client_id_length, 128);
  const env = { GATEHOUSE_BROKER_LIMITS_MAX_QUEUED_MESSAGES: '0', GATEHOUSE_BROKER_LIMITS_MAX_CLIENT_ID_LENGTH: '23' };
  const overridden = loadConfig({ document: demo(), env });
  assert.ok(overridden.ok);
  const limits = brokerLimitsFromConfig(overridden.config.broker.limits);
  assert.equal(limits.maxQueuedMessages, 0);
  assert.equal(limits.maxClientIdLength, 23);
  const tooShort = loadConfig({ document: demo(), env: { GATEHOUSE_BROKER_LIMITS_MAX_CLIENT_ID_LENGTH: '22' } });
  assert.equal(tooShort.ok, false, 'MQTT-3.1.3-5: 23 bytes must be allowed');
});
