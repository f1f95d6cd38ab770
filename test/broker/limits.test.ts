// broker.limits in the running broker, with raw sockets and MQTT.js: each exceeded limit closes the
// connection or refuses with a code, logs one line naming the limit, and the broker serves on.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  PACKET,
  RawClient,
  SITE,
  connectPacket,
  mqttClient,
  parsePublish,
  publishPacket,
  startBroker,
  subscribePacket,
  u16,
  unsubscribePacket,
  waitFor,
} from './support.js';

const SPY = { username: 'spy', password: 'spy-secret' };
const VIEWER = { username: 'viewer', password: 'view-secret' };
const pubackPacket = (id: number) => Buffer.concat([Buffer.from([0x40, 0x02]), u16(id)]);

test('max_connections: the connection over the limit is closed before CONNECT, logged, counted; a freed slot is reused', async (t) => {
  const { broker, port, lines } = await startBroker(t, { limits: { maxConnections: 2 } });
  const first = await RawClient.connected(t, port, SPY);
  const idle = await RawClient.open(t, port); // counts although it has sent nothing yet
  await waitFor('two open connections', () => broker.securityCounters().openConnections === 2);

  const third = await RawClient.open(t, port);
  third.send(connectPacket(SPY));
  assert.ok(await third.closesWithin(), 'the third connection is closed');
  assert.deepEqual(third.frames, [], 'no CONNACK: it never reached MQTT');
  const line = lines.find((l) => l.limit === 'max_connections');
  assert.ok(line, 'one log line names the limit');
  assert.equal(line.level, 40);
  assert.match(String(line.peer), /^127\.0\.0\.1:\d+$/);
  assert.equal(broker.securityCounters().connectionsRefused, 1);
  await first.ping();

  idle.destroy();
  await waitFor('the slot to be freed', () => broker.securityCounters().openConnections === 1);
  const again = await RawClient.connected(t, port, VIEWER);
  await again.ping();
});

test('max_inflight: a subscriber that stops acknowledging is disconnected once the limit is reached; one that acknowledges is not', async (t) => {
  const { broker, port, lines } = await startBroker(t, { limits: { maxInflight: 5 } });
  const silent = await RawClient.connected(t, port, { ...VIEWER, clientId: 'silent-screen' });
  silent.send(subscribePacket(1, [{ filter: `site/${SITE}/gate/+/event`, qos: 1 }]));
  await silent.next(PACKET.SUBACK);
  const polite = await RawClient.connected(t, port, { ...VIEWER, clientId: 'polite-screen' });
  let acked = 0;
  polite.frameHook = (f) => {
    if (f.type !== PACKET.PUBLISH) return false;
    polite.send(pubackPacket(parsePublish(f).messageId!));
    acked++;
    return true;
  };
  polite.send(subscribePacket(1, [{ filter: `site/${SITE}/gate/+/event`, qos: 1 }]));
  await polite.next(PACKET.SUBACK);

  for (let i = 0; i < 20; i++) await broker.publish(`site/${SITE}/gate/g1/event`, JSON.stringify({ n: i }), { qos: 1, retain: false });
  assert.ok(await silent.closesWithin(), 'the silent subscriber is disconnected');
  const received = silent.frames.filter((f) => f.type === PACKET.PUBLISH).length;
  assert.equal(received, 5, 'exactly max_inflight messages were sent before closing');
  await waitFor('the polite subscriber to get all 20', () => acked === 20);
  assert.equal(polite.isClosed, false);
  await polite.ping();

  const tripped = lines.filter((l) => l.limit === 'max_inflight');
  assert.equal(tripped.length, 1);
  assert.equal(tripped[0].clientId, 'silent-screen');
  assert.equal(tripped[0].username, 'viewer');
  assert.match(String(tripped[0].peer), /^127\.0\.0\.1:\d+$/);
  assert.equal(broker.securityCounters().limitDisconnects, 1);
});

test('max_inflight: QoS 0 deliveries never count', async (t) => {
  const { broker, port } = await startBroker(t, { limits: { maxInflight: 2 } });
  const sub = await RawClient.connected(t, port, VIEWER);
  sub.send(subscribePacket(1, [{ filter: `site/${SITE}/#`, qos: 0 }]));
  await sub.next(PACKET.SUBACK);
  for (let i = 0; i < 10; i++) await broker.publish(`site/${SITE}/gate/g1/event`, 'x', { qos: 1, retain: false });
  await waitFor('ten QoS 0 messages', () => sub.frames.filter((f) => f.type === PACKET.PUBLISH).length === 10);
  await sub.ping();
});

test('max_topic_length: a longer PUBLISH topic closes the connection; a longer filter gets SUBACK 0x80 and the client stays', async (t) => {
  const { broker, port, events, lines } = await startBroker(t, { limits: { maxTopicLength: 300 } });
  const fits = `chat/${'a'.repeat(295)}`; // 300 bytes
  const tooLong = `chat/${'a'.repeat(296)}`;
  const operator = await RawClient.connected(t, port, { username: 'operator', password: 'op-secret', clientId: 'long-topics' });
  operator.send(subscribePacket(1, [{ filter: fits, qos: 0 }, { filter: tooLong, qos: 0 }, { filter: `chat/${'é'.repeat(148)}`, qos: 0 }]));
  // 'é' is two bytes in UTF-8: 5 + 296 bytes is over the limit although it is 153 characters.
  assert.deepEqual([...(await operator.next(PACKET.SUBACK)).body.subarray(2)], [0, 0x80, 0x80]);
  await operator.ping();
  operator.send(publishPacket({ topic: fits, qos: 1, messageId: 1 }));
  await operator.next(PACKET.PUBACK);
  operator.send(publishPacket({ topic: tooLong, qos: 1, messageId: 2 }));
  assert.ok(await operator.closesWithin());

  assert.deepEqual(
    events.map((e) => [e.type, e.reason, e.topic?.length]),
    [
      ['subscribe_denied', 'topic_too_long', 301],
      ['subscribe_denied', 'topic_too_long', 153],
      ['publish_denied', 'topic_too_long', 301],
    ],
  );
  assert.ok(events.every((e) => e.clientId === 'long-topics' && e.username === 'operator' && /^127\.0\.0\.1:\d+$/.test(e.peer)));
  assert.ok(lines.some((l) => l.msg === 'mqtt subscribe refused: broker.limits.max_topic_length reached'));
  assert.equal(broker.securityCounters().subscriptionsRefusedByLimit, 2);

  // A will is a later PUBLISH: one on a topic over the limit is refused at CONNECT (code 5).
  const willing = await RawClient.open(t, port);
  willing.send(connectPacket({ username: 'operator', password: 'op-secret', will: { topic: tooLong, payload: 'gone' } }));
  assert.equal((await willing.next(PACKET.CONNACK)).body[1], 5);
});

test('max_subscriptions: filters beyond the limit get SUBACK 0x80; renewing one is free; unsubscribing frees a slot', async (t) => {
  const { port, events } = await startBroker(t, { limits: { maxSubscriptions: 3 } });
  const c = await RawClient.connected(t, port, { ...VIEWER, clientId: 'many-subs' });
  const filters = ['a', 'b', 'c', 'd', 'e'].map((id) => ({ filter: `site/${SITE}/gate/${id}/state`, qos: 1 }));
  c.send(subscribePacket(1, filters));
  // MQTT 3.1.1 section 3.9.3: one return code per filter, 0x80 = failure.
  assert.deepEqual([...(await c.next(PACKET.SUBACK)).body.subarray(2)], [1, 1, 1, 0x80, 0x80]);
  c.send(subscribePacket(2, [{ filter: filters[0].filter, qos: 0 }]));
  assert.deepEqual([...(await c.next(PACKET.SUBACK)).body.subarray(2)], [0], 'a renewed subscription replaces the old one');
  c.send(unsubscribePacket(3, [filters[1].filter]));
  await c.next(PACKET.UNSUBACK);
  c.send(subscribePacket(4, [filters[3], filters[4]]));
  assert.deepEqual([...(await c.next(PACKET.SUBACK)).body.subarray(2)], [1, 0x80]);
  await c.ping();
  assert.deepEqual(
    events.map((e) => [e.type, e.reason, e.topic]),
    [
      ['subscribe_denied', 'max_subscriptions', filters[3].filter],
      ['subscribe_denied', 'max_subscriptions', filters[4].filter],
      ['subscribe_denied', 'max_subscriptions', filters[4].filter],
    ],
  );
  // MQTT.js sees the refusal as well (it rejects a SUBACK holding a 0x80).
  const js = await mqttClient(t, port, VIEWER);
  await assert.rejects(js.subscribeAsync(filters.map((f) => f.filter), { qos: 1 }), /Subscribe error/);
  assert.equal(events.filter((e) => e.reason === 'max_subscriptions').length, 5);
});

test('one SUBSCRIBE with thousands of refused filters journals the first 100 and counts the rest', async (t) => {
  const { broker, port, events, lines } = await startBroker(t);
  const c = await RawClient.connected(t, port, VIEWER);
  const refused = Array.from({ length: 2000 }, (_, i) => ({ filter: `other/${i}`, qos: 0 }));
  c.send(subscribePacket(1, refused));
  const codes = [...(await c.next(PACKET.SUBACK)).body.subarray(2)];
  assert.equal(codes.length, 2000);
  assert.ok(codes.every((code) => code === 0x80));
  assert.equal(events.length, 100);
  assert.equal(broker.securityCounters().subscribeDenialsNotJournaled, 1900);
  assert.equal(lines.filter((l) => /further refusals on this connection are counted/.test(l.msg)).length, 1);
  await c.ping();
});

test('max_packet_bytes and max_topic_levels are passed through to the guards', async (t) => {
  const { port, lines } = await startBroker(t, { limits: { maxPacketBytes: 2048, maxTopicLevels: 6 } });
  const big = await RawClient.connected(t, port, { ...SPY, clientId: 'big-sender' });
  big.send(publishPacket({ topic: 'chat/x', qos: 0, payload: Buffer.alloc(4096) }));
  assert.ok(await big.closesWithin(), 'a 4 KiB packet over a 2 KiB limit closes the connection');
  const line = lines.find((l) => l.clause === 'limit');
  assert.ok(line, 'one log line names the limit');
  assert.deepEqual([line.clientId, line.username, /^127\.0\.0\.1:\d+$/.test(String(line.peer))], ['big-sender', 'spy', true]);
  const deep = await RawClient.connected(t, port, SPY);
  deep.send(subscribePacket(1, [{ filter: 'a/b/c/d/e/f/g', qos: 0 }]));
  assert.ok(await deep.closesWithin(), 'seven levels over a limit of six close the connection');
  const fine = await RawClient.connected(t, port, SPY);
  fine.send(subscribePacket(1, [{ filter: 'a/b/c/d/e/f', qos: 0 }]));
  assert.deepEqual([...(await fine.next(PACKET.SUBACK)).body.subarray(2)], [0]);
});

test('max_inflight: a persistent session closed by the limit gets every message on its next connection', async (t) => {
  const { broker, port } = await startBroker(t, { limits: { maxInflight: 3 } });
  const session = { ...VIEWER, clientId: 'archive-screen', clean: false };
  const first = await RawClient.connected(t, port, session);
  first.send(subscribePacket(1, [{ filter: `site/${SITE}/gate/+/event`, qos: 1 }]));
  await first.next(PACKET.SUBACK);
  for (let i = 0; i < 6; i++) await broker.publish(`site/${SITE}/gate/g1/event`, `m${i}`, { qos: 1, retain: false });
  assert.ok(await first.closesWithin());

  const second = await RawClient.open(t, port);
  const payloads = new Set<string>();
  second.frameHook = (f) => {
    if (f.type !== PACKET.PUBLISH) return false;
    const p = parsePublish(f);
    payloads.add(p.payload.toString());
    second.send(pubackPacket(p.messageId!));
    return true;
  };
  second.send(connectPacket({ ...session }));
  await second.next(PACKET.CONNACK);
  await waitFor('all six messages', () => payloads.size === 6);
  assert.deepEqual([...payloads].sort(), ['m0', 'm1', 'm2', 'm3', 'm4', 'm5']);
  await second.ping();
});
