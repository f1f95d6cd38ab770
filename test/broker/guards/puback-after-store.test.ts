// A QoS 1 PUBACK means the message is stored (issue 13): queued for an offline persistent session
// and kept as retained in the SQLite broker state before the publisher hears its PUBACK. The
// state's commits pass through a gate the test holds shut, so "stored" and "acknowledged" can be
// told apart: a SUBACK the publisher asks for after its PUBLISH is the sentinel (aedes 1.2.0 alone
// writes the PUBACK before it stores anything, so the PUBACK would come first).
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import type { Commit } from '../../../src/commands/commit.js';
import { openDatabase } from '../../../src/store/database.js';
import { GroupCommit } from '../../../src/store/group-commit.js';
import { SqliteBrokerState } from '../../../src/store/sqlite-broker-state.js';
import { connectPersistent, tempDataDir } from '../persistence/support.js';
import { mqttClient, startBroker, waitFor } from '../support.js';

const OPERATOR = { username: 'operator', password: 'op-secret' };

/**
 * A broker whose state is on a real database with commits that wait while the gate is shut. After
 * the test: the gate opens (a failed test must not leave the broker's stop waiting on it), the broker
 * stops, the database closes (t.after hooks run in the order registered).
 */
async function startGatedBroker(t: TestContext) {
  const db = openDatabase(tempDataDir(t));
  const commits = new GroupCommit(db);
  let shut = false;
  let waiting: Array<() => void> = [];
  const open = () => {
    shut = false;
    const release = waiting;
    waiting = [];
    for (const resolve of release) resolve();
  };
  const run: Commit = async (write) => {
    if (shut) await new Promise<void>((resolve) => waiting.push(resolve));
    return commits.run(write);
  };
  t.after(open);
  const { port } = await startBroker(t, { state: new SqliteBrokerState(db, run, { error: () => undefined }) });
  t.after(() => {
    commits.flush();
    db.close();
  });
  return { db, port, shut: () => void (shut = true), open, held: () => waiting.length };
}

async function offlineSubscriber(t: TestContext, port: number, filter: string): Promise<void> {
  const desk = await connectPersistent(t, port, { ...OPERATOR, clientId: 'desk' });
  await desk.client.subscribeAsync(filter, { qos: 1 });
  await desk.client.endAsync();
}

test('a QoS 1 message for an offline persistent session is acknowledged only after its queue row is committed', async (t) => {
  const gate = await startGatedBroker(t);
  const { port } = gate;
  await offlineSubscriber(t, port, 'chat/#');
  const writer = await mqttClient(t, port, { ...OPERATOR, clientId: 'writer' });

  gate.shut();
  const order: string[] = [];
  const acked = writer.publishAsync('chat/room', 'hello', { qos: 1 }).then(() => void order.push('puback'));
  await writer.subscribeAsync('chat/other', { qos: 0 }).then(() => void order.push('suback'));
  await waitFor('the queue row waiting for its commit', () => gate.held() > 0);
  assert.deepEqual(order, ['suback'], 'no PUBACK while the message is not on disk');
  assert.equal((gate.db.prepare('SELECT count(*) AS n FROM broker_outgoing').get() as { n: number }).n, 0);

  gate.open();
  await acked;
  assert.deepEqual(order, ['suback', 'puback']);
  assert.equal((gate.db.prepare('SELECT count(*) AS n FROM broker_outgoing').get() as { n: number }).n, 1, 'committed when acknowledged');
});

test('a retained QoS 1 message is acknowledged only after it is stored', async (t) => {
  const gate = await startGatedBroker(t);
  const { port } = gate;
  const writer = await mqttClient(t, port, { ...OPERATOR, clientId: 'writer' });

  gate.shut();
  const order: string[] = [];
  const acked = writer.publishAsync('chat/motd', 'welcome', { qos: 1, retain: true }).then(() => void order.push('puback'));
  await writer.subscribeAsync('chat/other', { qos: 0 }).then(() => void order.push('suback'));
  await waitFor('the retained row waiting for its commit', () => gate.held() > 0);
  assert.deepEqual(order, ['suback']);

  gate.open();
  await acked;
  assert.deepEqual(gate.db.prepare('SELECT topic FROM broker_retained').all(), [{ topic: 'chat/motd' }]);
});

test('PUBACKs leave in the order of their PUBLISHes, even when a later message is stored first (MQTT-4.6.0-2)', async (t) => {
  const gate = await startGatedBroker(t);
  const { port } = gate;
  await offlineSubscriber(t, port, 'chat/queued');
  const writer = await mqttClient(t, port, { ...OPERATOR, clientId: 'writer' });
  const ids: number[] = [];
  writer.on('packetreceive', (packet) => void (packet.cmd === 'puback' && ids.push(packet.messageId!)));

  gate.shut();
  // The first waits for its queue row; the second (nobody subscribed) has nothing to store.
  const first = writer.publishAsync('chat/queued', 'one', { qos: 1 });
  const second = writer.publishAsync('chat/nobody', 'two', { qos: 1 });
  await writer.subscribeAsync('chat/other', { qos: 0 });
  await waitFor('the first message waiting for its commit', () => gate.held() > 0);
  assert.deepEqual(ids, [], 'the second PUBACK waits behind the first');

  gate.open();
  const [a, b] = await Promise.all([first, second]);
  assert.deepEqual(ids, [a!.messageId, b!.messageId]);
});

test('a message whose store fails is never acknowledged: the publisher loses its connection and keeps the message to resend', async (t) => {
  const db = openDatabase(tempDataDir(t));
  const commits = new GroupCommit(db);
  let failing = false;
  const run: Commit = async (write) => {
    if (failing) throw new Error('disk full (test)');
    return commits.run(write);
  };
  const { port } = await startBroker(t, { state: new SqliteBrokerState(db, run, { error: () => undefined }) });
  t.after(() => {
    commits.flush();
    db.close();
  });
  await offlineSubscriber(t, port, 'chat/#');
  const writer = await mqttClient(t, port, { ...OPERATOR, clientId: 'writer' });
  const pubacks: number[] = [];
  writer.on('packetreceive', (packet) => void (packet.cmd === 'puback' && pubacks.push(packet.messageId!)));
  const closed = new Promise<void>((resolve) => writer.once('close', () => resolve()));

  failing = true;
  writer.publish('chat/room', 'lost?', { qos: 1 });
  await closed;
  assert.deepEqual(pubacks, []);
  const kept = await new Promise<unknown[]>((resolve) => {
    const packets: unknown[] = [];
    writer.outgoingStore.createStream().on('data', (p: unknown) => packets.push(p)).on('end', () => resolve(packets));
  });
  assert.equal(kept.length, 1, 'MQTT.js still holds the unacknowledged message for its resend');
});
