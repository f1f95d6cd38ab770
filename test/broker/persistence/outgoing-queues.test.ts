// A persistent session's queued QoS 2 messages, resent on reconnect: each completes its own
// four-step exchange (MQTT 3.1.1 section 4.3.3: PUBLISH, PUBREC, PUBREL, PUBCOMP with one packet
// identifier). aedes 1.2.0 with aedes-persistence's memory store answers the first PUBREC with
// another message's PUBREL when the PUBRECs arrive together (outgoing-queues.ts says why); shown
// here on bare aedes with raw bytes, then the same bytes and MQTT.js against gatehouse's broker,
// with the memory and the SQLite persistence, and across a restart of the SQLite one.
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import mqtt, { type MqttClient, type Packet } from 'mqtt';
import { OutgoingQueues } from '../../../src/broker/persistence/outgoing-queues.js';
import { PACKET, RawClient, mqttClient, parsePublish, pubcompPacket, pubrecPacket, startBareAedesInstance, startBroker, waitFor, WAIT_MS } from '../support.js';
import { startSqliteBroker, stopSqliteBroker, tempDataDir } from './support.js';

const OPERATOR = { username: 'operator', password: 'op-secret' };
const COUNT = 10;

test('the queue finds a PUBREL by its own packet identifier, never by another PUBREL', () => {
  const queues = new OutgoingQueues();
  for (let n = 1; n <= 3; n++) queues.push({ seq: n, clientId: 'c', packet: { cmd: 'publish', brokerId: 'b', brokerCounter: n, qos: 2, messageId: 100 + n } });
  for (const id of [101, 102, 103]) {
    const entry = queues.findForUpdate('c', { cmd: 'pubrel', messageId: id });
    assert.equal(entry?.seq, id - 100);
    entry!.packet = { cmd: 'pubrel', messageId: id };
  }
  assert.deepEqual(queues.packets('c'), [101, 102, 103].map((messageId) => ({ cmd: 'pubrel', messageId })));
  assert.equal(queues.take('c', { cmd: 'pubcomp', messageId: 102 })?.seq, 2);
  assert.equal(queues.take('c', { cmd: 'pubcomp', messageId: 102 }), undefined, 'a second PUBCOMP finds nothing');
  assert.equal(queues.size, 2);
});

test('a message aedes will not send (no packet identifier) removes its own unsent copy, not the oldest unsent message', () => {
  const queues = new OutgoingQueues();
  queues.push({ seq: 1, clientId: 'c', packet: { cmd: 'publish', brokerId: 'b', brokerCounter: 1, qos: 1 } });
  queues.push({ seq: 2, clientId: 'c', packet: { cmd: 'publish', brokerId: 'b', brokerCounter: 2, qos: 1 } });
  queues.push({ seq: 3, clientId: 'c', packet: { cmd: 'publish', brokerId: 'b', brokerCounter: 2, qos: 1 } });
  assert.equal(queues.take('c', { cmd: 'publish', brokerId: 'b', brokerCounter: 2 })?.seq, 3, 'the last unsent copy');
  assert.equal(queues.take('c', 42 as never), undefined);
  assert.deepEqual(queues.packets('c').map((p) => p.brokerCounter), [1, 2]);
});

/** Publishes COUNT QoS 2 messages to chat/room while `clientId`'s persistent session (QoS 2 on chat/#) is away. */
async function queueWhileAway(t: TestContext, port: number, clientId: string, auth: object = OPERATOR): Promise<void> {
  const subscriber = await mqttClient(t, port, { ...auth, clientId, clean: false });
  assert.equal((await subscriber.subscribeAsync('chat/#', { qos: 2 }))[0]?.qos, 2);
  await subscriber.endAsync();
  const publisher = await mqttClient(t, port, { ...auth, clientId: `${clientId}-writer` });
  for (let n = 0; n < COUNT; n++) await publisher.publishAsync('chat/room', JSON.stringify({ n }), { qos: 2 });
  await publisher.endAsync();
}

/** Reconnects with raw bytes, waits for the queued PUBLISHes, sends every PUBREC in one write; returns PUBLISH ids and the PUBREL ids, in order. */
async function pubrecsTogether(t: TestContext, port: number, clientId: string, auth: object = OPERATOR): Promise<{ published: number[]; released: number[] }> {
  const back = await RawClient.connected(t, port, { ...auth, clientId, clean: false });
  await waitFor('the queued messages', () => back.frames.filter((f) => f.type === PACKET.PUBLISH).length >= COUNT);
  const published = back.frames.filter((f) => f.type === PACKET.PUBLISH).map((f) => parsePublish(f).messageId!);
  back.send(Buffer.concat(published.map((id) => pubrecPacket(id))));
  const released: number[] = [];
  for (let i = 0; i < COUNT; i++) released.push((await back.next(PACKET.PUBREL)).body.readUInt16BE(0));
  back.send(Buffer.concat(released.map((id) => pubcompPacket(id))));
  await back.ping();
  return { published, released };
}

test('bare aedes 1.2.0 (aedes-persistence memory): PUBRECs arriving together are answered with the wrong PUBRELs', async (t) => {
  const { port } = await startBareAedesInstance(t);
  await queueWhileAway(t, port, 'chat-reader', {});
  const { published, released } = await pubrecsTogether(t, port, 'chat-reader', {});
  assert.notDeepEqual(released, published, 'the defect this project fixes');
  assert.notEqual(released[0], published[0], 'the first PUBREC is answered with another message\'s PUBREL');
});

for (const persistence of ['memory', 'sqlite'] as const) {
  test(`${persistence} persistence: PUBRECs arriving together are each answered with their own PUBREL`, async (t) => {
    const { broker, port } = persistence === 'memory' ? await startBroker(t) : await startSqliteBroker(t, tempDataDir(t));
    await queueWhileAway(t, port, 'chat-reader');
    const { published, released } = await pubrecsTogether(t, port, 'chat-reader');
    assert.deepEqual(released, published);
    await waitFor('every PUBCOMP', () => broker.securityCounters().currentQueuedMessages === 0);
  });
}

interface Recorded {
  client: MqttClient;
  /** "<- publish 17 {n}" / "-> pubrec 17" ..., in order. */
  packets: string[];
  /** `n` of each message delivered, in order. */
  delivered: number[];
}

/** MQTT.js with CleanSession=0, recording every packet from before the CONNACK on. */
function recordingClient(t: TestContext, port: number, clientId: string): Promise<Recorded & { sessionPresent: boolean }> {
  const client = mqtt.connect({ host: '127.0.0.1', port, protocolVersion: 4, reconnectPeriod: 0, connectTimeout: WAIT_MS, clientId, clean: false, ...OPERATOR });
  t.after(() => new Promise<void>((resolve) => client.end(true, {}, () => resolve())));
  const packets: string[] = [];
  const delivered: number[] = [];
  const describe = (p: Packet) => {
    const id = (p as { messageId?: number }).messageId;
    const n = p.cmd === 'publish' ? ` ${(JSON.parse(String(p.payload)) as { n: number }).n}` : '';
    return `${p.cmd} ${id ?? ''}${n}`;
  };
  client.on('packetreceive', (p) => void packets.push(`<- ${describe(p)}`));
  client.on('packetsend', (p) => void packets.push(`-> ${describe(p)}`));
  client.on('message', (_topic, payload) => void delivered.push((JSON.parse(payload.toString()) as { n: number }).n));
  return new Promise((resolve, reject) => {
    client.once('connect', (connack) => resolve({ client, packets, delivered, sessionPresent: connack.sessionPresent }));
    client.once('error', reject);
  });
}

/** For each packet identifier, the packets it was used in, in order. */
function exchanges(packets: string[]): Map<number, string[]> {
  const byId = new Map<number, string[]>();
  for (const line of packets) {
    const [dir, cmd, id] = line.split(' ');
    if (!['publish', 'pubrec', 'pubrel', 'pubcomp'].includes(cmd)) continue;
    const steps = byId.get(Number(id)) ?? [];
    steps.push(`${dir} ${cmd}`);
    byId.set(Number(id), steps);
  }
  return byId;
}

async function expectFourSteps(t: TestContext, port: number, broker: { securityCounters(): Record<string, number> }): Promise<void> {
  const back = await recordingClient(t, port, 'chat-reader');
  assert.equal(back.sessionPresent, true);
  await waitFor('every message', () => back.delivered.length >= COUNT);
  await waitFor('every PUBCOMP sent', () => back.packets.filter((p) => p.startsWith('-> pubcomp')).length >= COUNT);
  assert.deepEqual(back.delivered, Array.from({ length: COUNT }, (_, n) => n), 'each once, in order');
  const steps = exchanges(back.packets);
  assert.equal(steps.size, COUNT, `one packet identifier per message:\n${back.packets.join('\n')}`);
  for (const [id, sequence] of steps) assert.deepEqual(sequence, ['<- publish', '-> pubrec', '<- pubrel', '-> pubcomp'], `packet identifier ${id}`);
  await waitFor('the queue to be empty', () => broker.securityCounters().currentQueuedMessages === 0);
}

test('MQTT.js reconnecting to its persistent session: each queued QoS 2 message completes its own PUBLISH, PUBREC, PUBREL, PUBCOMP (memory)', async (t) => {
  const { broker, port } = await startBroker(t);
  await queueWhileAway(t, port, 'chat-reader');
  await expectFourSteps(t, port, broker);
});

test('MQTT.js, SQLite persistence, after the broker restarted: the same four steps for each message queued before the restart', async (t) => {
  const dir = tempDataDir(t);
  const first = await startSqliteBroker(t, dir);
  await queueWhileAway(t, first.port, 'chat-reader');
  await stopSqliteBroker(first);
  const second = await startSqliteBroker(t, dir);
  await expectFourSteps(t, second.port, second.broker);
});
