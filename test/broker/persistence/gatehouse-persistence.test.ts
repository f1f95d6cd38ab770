// The broker's persistence without a durable store (broker.persistence: memory) runs the shared
// conformance suite, beside aedes-persistence's own memory store as the control (the SQLite one:
// test/store/sqlite-broker-state.test.ts). Then, through a running broker and a restart with the
// SQLite store: Session Present, QoS 2 exactly once across the restart, what comes back.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import { NO_DURABLE_STATE } from '../../../src/broker/persistence/durable-state.js';
import { GatehousePersistence } from '../../../src/broker/persistence/gatehouse-persistence.js';
import { PACKET, RawClient, SITE, mqttClient, publishPacket, pubrelPacket, waitFor } from '../support.js';
import { aedesPersistenceConformance } from './conformance.js';
import { connectPersistent, startSqliteBroker, stopSqliteBroker, tempDataDir } from './support.js';

const fromAedes = createRequire(createRequire(import.meta.url).resolve('aedes'));
const aedesMemory = fromAedes('aedes-persistence') as () => unknown;

aedesPersistenceConformance('aedes-persistence memory (control)', () => aedesMemory(), { async: false });
aedesPersistenceConformance('GatehousePersistence, memory only', () => new GatehousePersistence({ state: NO_DURABLE_STATE }), { async: true });

const VIEWER = { username: 'viewer', password: 'view-secret' };
const OPERATOR = { username: 'operator', password: 'op-secret' };
const UNLOCK = `site/${SITE}/gate/g1/unlock`;

test('Session Present (MQTT-3.2.2-2): a persistent session without subscriptions is present again, after a restart too (SQLite); a clean-session connect ends it', async (t) => {
  const dir = tempDataDir(t);
  const first = await startSqliteBroker(t, dir);
  const kiosk = { ...VIEWER, clientId: 'kiosk' };
  assert.equal((await connectPersistent(t, first.port, kiosk)).sessionPresent, false, 'a new session');
  assert.equal((await connectPersistent(t, first.port, kiosk)).sessionPresent, true, 'taken over: it existed');
  await stopSqliteBroker(first);
  const second = await startSqliteBroker(t, dir);
  const again = await connectPersistent(t, second.port, kiosk);
  assert.equal(again.sessionPresent, true, 'kept across the restart');
  await again.client.endAsync();
  const clean = await mqttClient(t, second.port, { ...VIEWER, clientId: 'kiosk', clean: true });
  await clean.endAsync();
  assert.equal((await connectPersistent(t, second.port, kiosk)).sessionPresent, false, 'the clean session discarded it (MQTT-3.1.2-6)');
});

test('a QoS 2 command resent after a restart, before its PUBREL, is not run again (MQTT-4.3.3-2, exactly once across the restart)', async (t) => {
  const dir = tempDataDir(t);
  const first = await startSqliteBroker(t, dir);
  const before = await RawClient.connected(t, first.port, { ...OPERATOR, clientId: 'panel', clean: false });
  before.send(publishPacket({ topic: UNLOCK, qos: 2, messageId: 5, payload: '{"id":"x1"}' }));
  assert.equal((await before.next(PACKET.PUBREC)).body.readUInt16BE(0), 5);
  assert.equal(first.commands.length, 1);
  await stopSqliteBroker(first);

  const second = await startSqliteBroker(t, dir);
  const after = await RawClient.connected(t, second.port, { ...OPERATOR, clientId: 'panel', clean: false });
  after.send(publishPacket({ topic: UNLOCK, qos: 2, dup: true, messageId: 5, payload: '{"id":"x1"}' }));
  assert.equal((await after.next(PACKET.PUBREC)).body.readUInt16BE(0), 5);
  after.send(pubrelPacket(5));
  assert.equal((await after.next(PACKET.PUBCOMP)).body.readUInt16BE(0), 5);
  assert.equal(second.commands.length, 0, 'the retransmission did not reach the pipeline');
  // The identifier is free again: a new command with it is a new message.
  after.send(publishPacket({ topic: UNLOCK, qos: 2, messageId: 5, payload: '{"id":"x2"}' }));
  assert.equal((await after.next(PACKET.PUBREC)).body.readUInt16BE(0), 5);
  await waitFor('the new command', () => second.commands.length === 1);
});

test('through the broker: subscriptions, queued QoS 1 messages in order and retained messages of clients come back after a restart; the gateway\'s own retained topics do not', async (t) => {
  const dir = tempDataDir(t);
  const first = await startSqliteBroker(t, dir);
  const desk = await connectPersistent(t, first.port, { ...OPERATOR, clientId: 'desk' });
  await desk.client.subscribeAsync('chat/#', { qos: 1 });
  await desk.client.endAsync();
  const writer = await mqttClient(t, first.port, { ...OPERATOR, clientId: 'writer' });
  for (let n = 0; n < 20; n++) await writer.publishAsync('chat/room', String(n), { qos: 1 });
  await writer.publishAsync('chat/motd', 'hello', { qos: 1, retain: true });
  await first.broker.publish(`site/${SITE}/gate/g1/state`, '{"locked":true}', { qos: 1, retain: true });
  await writer.endAsync();
  await stopSqliteBroker(first);

  const second = await startSqliteBroker(t, dir);
  const received: string[] = [];
  const back = await connectPersistent(t, second.port, { ...OPERATOR, clientId: 'desk' });
  assert.equal(back.sessionPresent, true);
  back.client.on('message', (topic, payload) => void received.push(`${topic} ${payload}`));
  await waitFor('the queued messages', () => received.length >= 21);
  assert.deepEqual(received, [...Array.from({ length: 20 }, (_, n) => `chat/room ${n}`), 'chat/motd hello']);
  const fresh = await mqttClient(t, second.port, { ...OPERATOR, clientId: 'fresh' });
  const retained: string[] = [];
  fresh.on('message', (topic, payload, packet) => void (packet.retain && retained.push(`${topic} ${payload}`)));
  await fresh.subscribeAsync(['chat/#', `site/${SITE}/#`], { qos: 1 });
  await waitFor('the retained message', () => retained.length >= 1);
  assert.deepEqual(retained, ['chat/motd hello']);
  const stored = second.sqlite.db.prepare('SELECT topic FROM broker_retained').all();
  assert.deepEqual(stored, [{ topic: 'chat/motd' }], 'the gateway publishes its own state again at start; it is not stored');
});
