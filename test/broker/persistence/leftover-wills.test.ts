// Wills of connections the previous run left open (MQTT 3.1.1 section 3.1.2.5): published once at
// the next start, before anyone can connect, if their user may still publish there; refused and
// journaled otherwise; deleted either way. A clean stop publishes the wills itself and leaves none.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decideLeftoverWill, type WillPolicy } from '../../../src/broker/persistence/leftover-wills.js';
import { GatehousePersistence } from '../../../src/broker/persistence/gatehouse-persistence.js';
import { classifyTopic } from '../../../src/topics.js';
import { mqttClient, SITE, waitFor } from '../support.js';
import { connectPersistent, sqliteState, startSqliteBroker, stopSqliteBroker, tempDataDir } from './support.js';

const OPERATOR = { username: 'operator', password: 'op-secret' };
const rules = { operator: { publish: ['chat/#'], subscribe: ['chat/#'] }, device: { publish: ['clients/%u/#'], subscribe: [] } } as Record<string, { publish: string[]; subscribe: string[] }>;
const policy: WillPolicy = {
  accessOf: (username) => (username !== undefined && rules[username] ? { rules: rules[username] } : undefined),
  classify: (topic) => classifyTopic(SITE, topic),
  maxTopicLength: 1024,
};
const will = (clientId: string, username: string | undefined, topic: string) => ({ clientId, ...(username ? { username } : {}), packet: { topic, payload: Buffer.from('offline'), qos: 1, retain: true } });

test('a leftover will is published only where its user may publish now', () => {
  assert.deepEqual(decideLeftoverWill(will('p', 'operator', 'chat/p/status'), policy), { action: 'publish' });
  assert.deepEqual(decideLeftoverWill(will('dev1', 'device', 'clients/device/state'), policy), { action: 'publish' }, '%u is the stored user');
  assert.deepEqual(decideLeftoverWill(will('p', 'operator', 'lobby/x'), policy), { action: 'refuse', reason: 'acl' });
  assert.deepEqual(decideLeftoverWill(will('p', 'ghost', 'chat/x'), policy), { action: 'refuse', reason: 'unknown_user' });
  assert.deepEqual(decideLeftoverWill(will('p', undefined, 'chat/x'), policy), { action: 'refuse', reason: 'anonymous_disabled' });
  assert.deepEqual(decideLeftoverWill(will('p', 'operator', `site/${SITE}/gate/g1/state`), policy), { action: 'refuse', reason: 'reserved_topic' });
});

/** What a run that crashed leaves: a persistent subscriber's session and the wills of connected clients. */
async function leaveCrashedRun(dir: string, t: Parameters<typeof sqliteState>[0]): Promise<void> {
  const sqlite = sqliteState(t, dir);
  const owners: Record<string, string> = { panel: 'operator', ghost: 'ghost', spyglass: 'viewer' };
  const persistence = new GatehousePersistence({ state: sqlite.state, ownerOf: (client) => owners[client.id] });
  await persistence.setup({ id: 'crashed-run' });
  await persistence.addSubscriptions({ id: 'desk', clean: false }, [{ topic: 'chat/#', qos: 1 }]);
  await persistence.putWill({ id: 'panel' }, { topic: 'chat/panel/status', payload: Buffer.from('offline'), qos: 1, retain: true });
  await persistence.putWill({ id: 'ghost' }, { topic: 'chat/ghost/status', payload: Buffer.from('offline'), qos: 1, retain: true });
  await persistence.putWill({ id: 'spyglass' }, { topic: 'chat/spyglass/status', payload: Buffer.from('offline'), qos: 0, retain: false });
  // No stop: the process is gone, with whatever was committed.
  await persistence.drain();
  sqlite.close();
}

test('after a crash: the wills of the connections it cut are published once at the next start, queued for persistent sessions and retained; refused ones journaled', async (t) => {
  const dir = tempDataDir(t);
  await leaveCrashedRun(dir, t);

  const first = await startSqliteBroker(t, dir);
  assert.deepEqual(
    first.events.map((e) => [e.type, e.clientId, e.username, e.topic, e.reason]),
    [
      ['publish_denied', 'ghost', 'ghost', 'chat/ghost/status', 'unknown_user'],
      ['publish_denied', 'spyglass', 'viewer', 'chat/spyglass/status', 'acl'],
    ],
  );
  assert.ok(first.lines.some((l) => l.msg === 'mqtt will of a connection the previous run left open published' && l.clientId === 'panel'));
  const desk = await connectPersistent(t, first.port, { ...OPERATOR, clientId: 'desk' });
  const queued: string[] = [];
  desk.client.on('message', (topic, payload, packet) => void queued.push(`${topic} ${payload} retain=${packet.retain}`));
  await waitFor('the will queued for the persistent session', () => queued.length >= 1);
  assert.deepEqual(queued, ['chat/panel/status offline retain=false']);
  assert.deepEqual(first.sqlite.db.prepare('SELECT client_id FROM broker_wills').all(), [], 'every leftover will deleted');
  await stopSqliteBroker(first);

  const second = await startSqliteBroker(t, dir);
  assert.deepEqual(second.events, [], 'nothing published or refused a second time');
  const reader = await mqttClient(t, second.port, { ...OPERATOR, clientId: 'reader' });
  const retained: string[] = [];
  reader.on('message', (topic, payload, packet) => void (packet.retain && retained.push(`${topic} ${payload}`)));
  await reader.subscribeAsync('chat/#', { qos: 1 });
  await waitFor('the retained will', () => retained.length >= 1);
  assert.deepEqual(retained, ['chat/panel/status offline']);
});

test('a clean stop publishes the will of each connected client itself and leaves none for the next start', async (t) => {
  const dir = tempDataDir(t);
  const first = await startSqliteBroker(t, dir);
  await mqttClient(t, first.port, { ...OPERATOR, clientId: 'panel', will: { topic: 'chat/panel/status', payload: Buffer.from('offline'), qos: 1, retain: true } });
  const desk = await connectPersistent(t, first.port, { ...OPERATOR, clientId: 'desk' });
  await desk.client.subscribeAsync('chat/#', { qos: 1 });
  await desk.client.endAsync();
  assert.equal(first.sqlite.db.prepare('SELECT COUNT(*) AS n FROM broker_wills').pluck().get(), 1, 'stored while connected');
  await stopSqliteBroker(first);

  const second = await startSqliteBroker(t, dir);
  assert.equal(second.sqlite.db.prepare('SELECT COUNT(*) AS n FROM broker_wills').pluck().get(), 0);
  assert.ok(!second.lines.some((l) => l.msg === 'mqtt will of a connection the previous run left open published'));
  const back = await connectPersistent(t, second.port, { ...OPERATOR, clientId: 'desk' });
  const queued: string[] = [];
  back.client.on('message', (topic, payload) => void queued.push(`${topic} ${payload}`));
  await waitFor('the will published at the stop, queued for the session', () => queued.length >= 1);
  assert.deepEqual(queued, ['chat/panel/status offline']);
});

test('a client taking its own session over (MQTT-3.1.4-2): the old connection\'s will is published, the new one\'s stays stored', async (t) => {
  const dir = tempDataDir(t);
  const started = await startSqliteBroker(t, dir);
  const watcher = await mqttClient(t, started.port, { ...OPERATOR, clientId: 'watcher' });
  const seen: string[] = [];
  watcher.on('message', (topic, payload) => void seen.push(`${topic} ${payload}`));
  await watcher.subscribeAsync('chat/#', { qos: 1 });
  const status = (payload: string) => ({ topic: 'chat/panel/status', payload: Buffer.from(payload), qos: 1 as const, retain: false });
  await mqttClient(t, started.port, { ...OPERATOR, clientId: 'panel', will: status('old connection lost') });
  await mqttClient(t, started.port, { ...OPERATOR, clientId: 'panel', will: status('new connection lost') });
  await waitFor('the old connection\'s will', () => seen.length >= 1);
  assert.deepEqual(seen, ['chat/panel/status old connection lost']);
  // A SUBACK of a persistent session follows its commit; commits are in order, so every write
  // aedes started for the old will (its deletion) is on disk by then.
  const later = await connectPersistent(t, started.port, { ...OPERATOR, clientId: 'later' });
  await later.client.subscribeAsync('chat/later', { qos: 1 });
  const stored = started.sqlite.db.prepare('SELECT packet FROM broker_wills WHERE client_id = ?').pluck().all('panel') as Buffer[];
  assert.equal(stored.length, 1);
  assert.match(stored[0].toString('latin1'), /new connection lost/, 'the new connection\'s will is what a crash now would publish');
});
