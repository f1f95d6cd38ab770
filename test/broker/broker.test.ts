import assert from 'node:assert/strict';
import { test } from 'node:test';
import { requireTool } from '../support/require-tool.js';
import {
  PACKET,
  RawClient,
  connectPacket,
  SITE,
  mqttClient,
  publishPacket,
  pubrelPacket,
  runTool,
  startBroker,
  subscribePacket,
  waitFor,
} from './support.js';

const STATE = `site/${SITE}/gate/g1/state`;
const UNLOCK = `site/${SITE}/gate/g1/unlock`;

function mosquittoPub(): string {
  return requireTool('mosquitto_pub', 'mosquitto-clients');
}
function mosquittoSub(): string {
  return requireTool('mosquitto_sub', 'mosquitto-clients');
}

test('binds port 0 to a free port, logs it, and two brokers run at once', async (t) => {
  const a = await startBroker(t);
  const b = await startBroker(t);
  assert.ok(a.port > 0 && b.port > 0);
  assert.notEqual(a.port, b.port);
  assert.ok(a.lines.some((l) => l.msg === 'broker listening' && l.port === a.port));
  const ca = await mqttClient(t, a.port, { username: 'operator', password: 'op-secret' });
  const cb = await mqttClient(t, b.port, { username: 'operator', password: 'op-secret' });
  assert.ok(ca.connected && cb.connected);
  await waitFor('both brokers to count their client', () => a.broker.connectedClients() === 1 && b.broker.connectedClients() === 1);
});

test('login: right password ok; wrong password and unknown user get CONNACK 4 (mosquitto_pub and MQTT.js)', async (t) => {
  const { port, events, lines } = await startBroker(t);
  const pub = mosquittoPub();
  const common = ['-h', '127.0.0.1', '-p', String(port), '-V', 'mqttv311', '-t', 'chat/x', '-m', 'hi'];

  const ok = await runTool(pub, [...common, '-u', 'operator', '-P', 'op-secret']);
  assert.equal(ok.code, 0, ok.stderr);

  const wrong = await runTool(pub, [...common, '-u', 'operator', '-P', 'nope']);
  assert.notEqual(wrong.code, 0);
  assert.match(wrong.stderr, /bad user name or password/i);

  const unknown = await runTool(pub, [...common, '-u', 'mallory', '-P', 'op-secret']);
  assert.notEqual(unknown.code, 0);
  assert.match(unknown.stderr, /bad user name or password/i);

  await assert.rejects(mqttClient(t, port, { username: 'operator', password: 'wrong' }), (err: Error & { code?: number }) => err.code === 4);

  const failures = events.filter((e) => e.type === 'auth_failed');
  assert.deepEqual(failures.map((e) => e.reason), ['bad_password', 'unknown_user', 'bad_password']);
  assert.ok(failures.every((e) => /^127\.0\.0\.1:\d+$/.test(e.peer)));
  assert.ok(lines.some((l) => l.level === 40 && l.msg === 'mqtt login refused' && typeof l.peer === 'string'));
});

test('anonymous: refused with CONNACK 5 when disabled, limited by its own ACL when enabled', async (t) => {
  const off = await startBroker(t);
  const raw = await RawClient.open(t, off.port);
  raw.send(connectPacket({ clientId: 'anon' }));
  const connack = await raw.next(PACKET.CONNACK);
  assert.equal(connack.body[1], 5);
  assert.ok(await raw.closesWithin());
  assert.equal(off.events[0]?.reason, 'anonymous_disabled');

  const on = await startBroker(t, { anonymous: { enabled: true, publish: ['public/#'], subscribe: ['public/#'] } });
  const sub = mosquittoSub();
  const rawAnon = await RawClient.connected(t, on.port, { clientId: 'anon-raw' });
  rawAnon.send(subscribePacket(1, [{ filter: 'public/#', qos: 0 }, { filter: 'private/#', qos: 0 }]));
  assert.deepEqual([...(await rawAnon.next(PACKET.SUBACK)).body.subarray(2)], [0, 0x80]);
  const anon = await mqttClient(t, on.port);
  await anon.publishAsync('public/news', 'hello', { qos: 1, retain: true });
  const result = await runTool(sub, ['-h', '127.0.0.1', '-p', String(on.port), '-V', 'mqttv311', '-t', 'public/#', '-C', '1', '-W', '10', '-v']);
  assert.equal(result.code, 0, result.stderr);
  assert.equal(result.stdout.trim(), 'public/news hello');
});

test('a subscribe-only user publishing a command: onCommand(authorized=false), PUBACK, still connected', async (t) => {
  const { port, commands } = await startBroker(t);
  const result = await runTool(mosquittoPub(), [
    '-h', '127.0.0.1', '-p', String(port), '-V', 'mqttv311', '-u', 'viewer', '-P', 'view-secret',
    '-i', 'viewer-pub', '-q', '1', '-t', UNLOCK, '-m', '{"id":"c1"}',
  ]);
  assert.equal(result.code, 0, `mosquitto_pub got its PUBACK: ${result.stderr}`);
  assert.equal(commands.length, 1);
  const cmd = commands[0];
  assert.equal(cmd.authorized, false);
  assert.deepEqual(
    { kind: cmd.kind, device: cmd.device, command: cmd.command, qos: cmd.qos, clientId: cmd.clientId, username: cmd.username, topic: cmd.topic },
    { kind: 'gate', device: 'g1', command: 'unlock', qos: 1, clientId: 'viewer-pub', username: 'viewer', topic: UNLOCK },
  );
  assert.equal(cmd.payload.toString(), '{"id":"c1"}');
  assert.match(cmd.peer, /^127\.0\.0\.1:\d+$/);

  // The connection survives the forbidden command: the pipeline answers with a result instead.
  const raw = await RawClient.connected(t, port, { clientId: 'viewer-raw', username: 'viewer', password: 'view-secret' });
  raw.send(publishPacket({ topic: UNLOCK, qos: 1, messageId: 7 }));
  const puback = await raw.next(PACKET.PUBACK);
  assert.equal(puback.body.readUInt16BE(0), 7);
  await raw.ping();
  assert.equal(raw.isClosed, false);
  assert.equal(commands.length, 2);
  assert.equal(commands[1].authorized, false);
});

test('an authorized command is consumed: not delivered to a # subscriber and never retained', async (t) => {
  const { broker, port, commands } = await startBroker(t);
  const spy = await mqttClient(t, port, { username: 'spy', password: 'spy-secret', clientId: 'spy' });
  const seen: string[] = [];
  spy.on('message', (topic) => seen.push(topic));
  await spy.subscribeAsync('#', { qos: 1 });

  const op = await mqttClient(t, port, { username: 'operator', password: 'op-secret' });
  await op.publishAsync(UNLOCK, '{"id":"a"}', { qos: 1, retain: true });
  await op.publishAsync(UNLOCK, '{"id":"b"}', { qos: 0 });
  // A marker published after the commands arrives after them if they were routed at all (MQTT 4.6).
  await broker.publish('chat/marker', 'm', { qos: 1, retain: false });
  await waitFor('the marker', () => seen.includes('chat/marker'));
  assert.deepEqual(seen, ['chat/marker']);
  assert.equal(commands.length, 2);
  assert.equal(commands[0].authorized, true);
  assert.equal(commands[0].retain, true, 'the client asked for retain; the command records it');

  // A later subscriber gets no retained command.
  const late = await mqttClient(t, port, { username: 'operator', password: 'op-secret' });
  const lateSeen: string[] = [];
  late.on('message', (topic) => lateSeen.push(topic));
  await late.subscribeAsync(`site/${SITE}/#`, { qos: 1 });
  await broker.publish(`site/${SITE}/marker`, 'm', { qos: 1, retain: false });
  await waitFor('the late marker', () => lateSeen.includes(`site/${SITE}/marker`));
  assert.deepEqual(lateSeen, [`site/${SITE}/marker`]);
});

test('spoofing a retained state topic disconnects the client and leaves the real retained state', async (t) => {
  const { broker, port, events } = await startBroker(t);
  await broker.publish(STATE, '{"locked":true}', { qos: 1, retain: true });

  const raw = await RawClient.connected(t, port, { clientId: 'spoofer', username: 'operator', password: 'op-secret' });
  raw.send(publishPacket({ topic: STATE, payload: '{"locked":false}', qos: 1, retain: true, messageId: 3 }));
  assert.ok(await raw.closesWithin(), 'closed by the server (MQTT-3.3.5-2)');
  assert.equal(raw.frames.filter((f) => f.type === PACKET.PUBACK).length, 0, 'no PUBACK for a refused publish');
  assert.deepEqual(
    events.map((e) => [e.type, e.reason, e.topic]),
    [['publish_denied', 'reserved_topic', STATE]],
  );

  // The gateway's own retained publish reaches a later subscriber with the retain flag set.
  const out = await runTool(mosquittoSub(), [
    '-h', '127.0.0.1', '-p', String(port), '-V', 'mqttv311', '-u', 'viewer', '-P', 'view-secret',
    '-t', STATE, '-C', '1', '-W', '10', '-F', '%t %r %p',
  ]);
  assert.equal(out.code, 0, out.stderr);
  assert.equal(out.stdout.trim(), `${STATE} 1 {"locked":true}`);
});

test('publishing to the gateway subtree, a result topic or a $ topic is refused', async (t) => {
  const { port, events } = await startBroker(t);
  for (const topic of [`site/${SITE}/gateway/gw1/availability`, `site/${SITE}/gate/g1/result`, '$SYS/x', '$own/x']) {
    const raw = await RawClient.connected(t, port, { username: 'spy', password: 'spy-secret' });
    raw.send(publishPacket({ topic, qos: 0 }));
    assert.ok(await raw.closesWithin(), topic);
  }
  assert.deepEqual(events.map((e) => e.reason), ['reserved_topic', 'reserved_topic', 'system_topic', 'system_topic']);
});

test('ordinary topics follow the publish ACL, with %u and %c patterns', async (t) => {
  const { port, events } = await startBroker(t);
  const dev = await RawClient.connected(t, port, { clientId: 'dev-7', username: 'device', password: 'dev-secret' });
  dev.send(publishPacket({ topic: 'clients/device/up', qos: 1, messageId: 1 }));
  dev.send(publishPacket({ topic: 'ids/dev-7', qos: 1, messageId: 2 }));
  await dev.next(PACKET.PUBACK);
  await dev.next(PACKET.PUBACK);
  dev.send(publishPacket({ topic: 'clients/other/up', qos: 1, messageId: 3 }));
  assert.ok(await dev.closesWithin());
  assert.deepEqual(events.map((e) => [e.type, e.reason, e.topic]), [['publish_denied', 'acl', 'clients/other/up']]);
});

test('subscribing beyond the ACL gets SUBACK 0x80 for that filter only', async (t) => {
  const { port, events } = await startBroker(t);
  const viewer = await RawClient.connected(t, port, { username: 'viewer', password: 'view-secret' });
  viewer.send(
    subscribePacket(8, [
      { filter: `site/${SITE}/gate/+/state`, qos: 1 },
      { filter: '#', qos: 0 },
      { filter: `site/+/gate/g1/state`, qos: 0 },
      { filter: '$SYS/#', qos: 0 },
      { filter: `site/${SITE}/#`, qos: 2 },
    ]),
  );
  // MQTT-3.9.3: one return code per filter, in order; 0x80 is failure.
  assert.deepEqual([...(await viewer.next(PACKET.SUBACK)).body.subarray(2)], [1, 0x80, 0x80, 0x80, 2]);
  await viewer.ping();
  // MQTT.js sees the refusal too
  const js = await mqttClient(t, port, { username: 'viewer', password: 'view-secret' });
  await assert.rejects(js.subscribeAsync('#'), /Subscribe error/);
  assert.deepEqual(
    events.map((e) => [e.type, e.reason, e.topic]),
    [
      ['subscribe_denied', 'acl', '#'],
      ['subscribe_denied', 'acl', 'site/+/gate/g1/state'],
      ['subscribe_denied', 'acl', '$SYS/#'],
      ['subscribe_denied', 'acl', '#'],
    ],
  );
});

test('a will the client could not publish itself is refused at CONNECT with code 5', async (t) => {
  const { port, events } = await startBroker(t);
  const raw = await RawClient.open(t, port);
  raw.send(connectPacket({ clientId: 'w', username: 'operator', password: 'op-secret', will: { topic: STATE, payload: 'x', retain: true } }));
  const connack = await raw.next(PACKET.CONNACK);
  assert.equal(connack.body[1], 5);
  assert.ok(await raw.closesWithin());
  assert.equal(events[0]?.reason, 'will_denied');
});

test('a will on a command topic is refused at CONNECT with code 5: it would act at a moment nobody chose', async (t) => {
  const { port, events, commands } = await startBroker(t);
  const raw = await RawClient.open(t, port);
  raw.send(connectPacket({ clientId: 'w2', username: 'operator', password: 'op-secret', will: { topic: UNLOCK, payload: '' } }));
  const connack = await raw.next(PACKET.CONNACK);
  assert.equal(connack.body[1], 5);
  assert.ok(await raw.closesWithin());
  assert.equal(events[0]?.reason, 'will_on_command_topic');
  assert.equal(commands.length, 0);
});

test('a QoS 2 command retransmitted before PUBREL reaches onCommand once (MQTT-4.3.3-2)', async (t) => {
  const { port, commands } = await startBroker(t);
  const raw = await RawClient.connected(t, port, { clientId: 'q2', username: 'operator', password: 'op-secret' });
  // the second copy in the same TCP segment, the third after the first PUBREC
  raw.send(Buffer.concat([publishPacket({ topic: UNLOCK, qos: 2, messageId: 42 }), publishPacket({ topic: UNLOCK, qos: 2, dup: true, messageId: 42 })]));
  await raw.next(PACKET.PUBREC);
  await raw.next(PACKET.PUBREC);
  raw.send(publishPacket({ topic: UNLOCK, qos: 2, dup: true, messageId: 42 }));
  await raw.next(PACKET.PUBREC);
  raw.send(pubrelPacket(42));
  const pubcomp = await raw.next(PACKET.PUBCOMP);
  assert.equal(pubcomp.body.readUInt16BE(0), 42);
  assert.equal(commands.length, 1);
  // After PUBCOMP the id is free again: a new message with it is a new command.
  raw.send(publishPacket({ topic: UNLOCK, qos: 2, messageId: 42 }));
  await raw.next(PACKET.PUBREC);
  assert.equal(commands.length, 2);
});

test('gateway publish: retained reaches a later subscriber with the retain flag, live ones without it', async (t) => {
  const { broker, port } = await startBroker(t);
  await broker.publish(STATE, 'v1', { qos: 1, retain: true });
  const viewer = await mqttClient(t, port, { username: 'viewer', password: 'view-secret' });
  const got: { payload: string; retain: boolean }[] = [];
  viewer.on('message', (_topic, payload, packet) => got.push({ payload: payload.toString(), retain: packet.retain }));
  await viewer.subscribeAsync(STATE, { qos: 1 });
  await waitFor('the retained state', () => got.length === 1);
  await broker.publish(STATE, 'v2', { qos: 0, retain: true });
  await waitFor('the live state', () => got.length === 2);
  // MQTT-3.3.1-8 / 3.3.1-9: retain set for the stored copy sent on SUBSCRIBE, cleared for live delivery.
  assert.deepEqual(got, [{ payload: 'v1', retain: true }, { payload: 'v2', retain: false }]);
  await assert.rejects(broker.publish('a/+', 'x', { qos: 0, retain: false }), { code: 'BROKER_INVALID_TOPIC' });
});

test('publish before start and a second start fail with stable codes', async (t) => {
  const { broker } = await startBroker(t);
  await assert.rejects(broker.start(), { code: 'BROKER_ALREADY_STARTED' });
  await broker.stop();
  await assert.rejects(broker.publish('a', 'x', { qos: 0, retain: false }), { code: 'BROKER_NOT_STARTED' });
  assert.equal(broker.connectedClients(), 0);
});
