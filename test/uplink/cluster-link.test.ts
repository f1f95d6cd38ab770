// `uplink.url` as a list of broker nodes, on two real mosquitto brokers standing in for the nodes
// of a cluster: the link starts on the first node, moves to the next one when its node fails (a
// refused connect or a lost connection), comes back round the list, sends its birth on every
// connection and replays the outbox to whichever node it reached. The gateway state names the node.
import assert from 'node:assert/strict';
import { after, before, test, type TestContext } from 'node:test';
import { pino } from 'pino';
import { topics } from '../../src/topics.js';
import { CloudLink, type LinkState } from '../../src/uplink/cloud-link.js';
import { MemoryOutbox } from '../../src/uplink/outbox.js';
import { freePort } from '../support/ports.js';
import { startModbusDevice, type ModbusDevice } from '../support/modbus-device.js';
import { startCloudBroker, type CloudBroker } from './cloud-broker.js';
import { cloudSubscriber, type CloudSubscriber } from './cloud-subscriber.js';
import { msg } from './outbox-conformance.js';
import { SITE, UNITS, firstArrivals, startUplinkGateway, uniqueId, until } from './uplink-harness.js';

const WAIT_MS = 20_000;
const log = pino({ level: process.env.GATEHOUSE_TEST_DEBUG ? 'debug' : 'silent' });

let nodeA: CloudBroker;
let nodeB: CloudBroker;
before(async () => {
  [nodeA, nodeB] = await Promise.all([startCloudBroker(), startCloudBroker()]);
});
after(async () => {
  await Promise.all([nodeA?.dispose(), nodeB?.dispose()]);
});

async function subscriber(t: TestContext, broker: CloudBroker, filter: string): Promise<CloudSubscriber> {
  // A persistent session: what its node accepted while it was away is still delivered.
  const sub = await cloudSubscriber({ url: broker.url, filters: [filter], clientId: uniqueId('watch') });
  t.after(() => sub.close());
  return sub;
}

interface Recorded {
  link: CloudLink;
  /** The node of every connection attempt, in order. */
  attempts: string[];
  /** The node of every connection that came up, in order. */
  ups: string[];
}

function startLink(t: TestContext, urls: string[], outbox: MemoryOutbox, prefix: string): Recorded {
  const attempts: string[] = [];
  const ups: string[] = [];
  const link: CloudLink = new CloudLink(
    {
      url: urls,
      clientId: uniqueId('cluster'),
      keepaliveS: 5,
      connectTimeoutMs: 2000,
      will: { topic: `${prefix}/availability`, payload: 'offline' },
      subscriptions: [],
      inflight: 10,
      backoff: { initialMs: 50, maxMs: 400 },
    },
    outbox,
    {
      birth: () => [{ topic: `${prefix}/availability`, payload: 'online', retain: true }],
      onCommand: () => undefined,
      onStateChange: (state: LinkState) => {
        if (state === 'connecting') attempts.push(link.stats().node);
        if (state === 'up') ups.push(link.stats().node);
      },
    },
    log,
  );
  t.after(() => link.stop(0));
  link.start();
  return { link, attempts, ups };
}

test('a lost node: the link moves to the next node with its birth and the outbox, and back round the list when that one fails', async (t) => {
  const prefix = uniqueId('failover');
  const [subA, subB] = await Promise.all([subscriber(t, nodeA, `${prefix}/#`), subscriber(t, nodeB, `${prefix}/#`)]);
  const outbox = new MemoryOutbox({ maxMessages: 100_000, maxBytes: 100_000_000 });
  const { link, ups } = startLink(t, [nodeA.url, nodeB.url], outbox, prefix);
  const births = (sub: CloudSubscriber) => sub.on(`${prefix}/availability`).filter((m) => m.text === 'online').length;
  await subA.waitFor('the birth on node A', () => births(subA) === 1, WAIT_MS);
  assert.deepEqual({ node: link.stats().node, index: link.stats().nodeIndex, nodes: link.stats().nodes }, { node: nodeA.url, index: 0, nodes: 2 });

  // A stream in three parts: before, during and after node A goes away.
  const FEED = `${prefix}/feed`;
  let n = 0;
  const produce = (count: number) => {
    for (let i = 0; i < count; i++) outbox.append([msg(FEED, String(++n))]);
    link.notify();
  };
  produce(300);
  await subA.waitFor('part of the stream on node A', (ms) => ms.some((m) => m.topic === FEED), WAIT_MS);
  await nodeA.stop(); // SIGTERM: mosquitto keeps what it acknowledged for subA's persistent session
  produce(300);
  await subB.waitFor('the birth on node B', () => births(subB) === 1, WAIT_MS);
  produce(300);
  await until('the outbox drained into node B', () => outbox.stats().depth === 0 && link.stats().inFlight === 0, WAIT_MS);
  assert.equal(link.stats().node, nodeB.url, 'the gateway state names node B');

  // Node A back, node B gone: round the list to node A again, with another birth.
  await nodeA.start();
  await subA.waitFor('subA back on node A', () => subA.client.connected, WAIT_MS);
  await nodeB.stop();
  produce(100);
  await subA.waitFor('the second birth on node A', () => births(subA) === 2, WAIT_MS);
  await until('the outbox drained into node A', () => outbox.stats().depth === 0 && link.stats().inFlight === 0, WAIT_MS);
  await nodeB.start();
  await subB.waitFor('subB back on node B', () => subB.client.connected, WAIT_MS);

  assert.deepEqual(ups, [nodeA.url, nodeB.url, nodeA.url], 'the nodes it was up on, in order');
  assert.equal(link.stats().connections, 3);
  // Every message was acknowledged by one node or the other and reached that node's subscriber.
  const expected = Array.from({ length: n }, (_, i) => String(i + 1));
  await until('every message at one node or the other', () => new Set([...subA.on(FEED), ...subB.on(FEED)].map((m) => m.text)).size === n, WAIT_MS);
  const got = new Set([...subA.on(FEED), ...subB.on(FEED)].map((m) => m.text));
  assert.deepEqual([...got].sort((a, b) => Number(a) - Number(b)), expected);
  for (const sub of [subA, subB]) {
    const seq = firstArrivals(sub.messages, FEED).map(Number);
    assert.deepEqual(seq, [...seq].sort((a, b) => a - b), 'in order at each node');
  }
  assert.ok(subB.on(FEED).length > 0 && firstArrivals(subA.messages, FEED).length > 0, 'both nodes took part of the stream');
});

test('a refused connect: the link tries the next node in the list, with the backoff', async (t) => {
  const prefix = uniqueId('refused');
  const deadPort = await freePort(); // nothing listens here
  const dead = `mqtt://127.0.0.1:${deadPort}`;
  const subB = await subscriber(t, nodeB, `${prefix}/#`);
  const outbox = new MemoryOutbox({ maxMessages: 1000, maxBytes: 1_000_000 });
  outbox.append(Array.from({ length: 20 }, (_, i) => msg(`${prefix}/feed`, String(i + 1))));
  const { link, attempts, ups } = startLink(t, [dead, nodeB.url], outbox, prefix);
  await subB.waitFor('the birth and the backlog on node B', (ms) => ms.filter((m) => m.topic === `${prefix}/feed`).length === 20, WAIT_MS);
  assert.deepEqual(attempts, [dead, nodeB.url], 'the dead node first (it is first in the list), then the next one');
  assert.deepEqual(ups, [nodeB.url]);
  assert.equal(subB.messages[0].topic, `${prefix}/availability`, 'the birth first');
  assert.equal(link.stats().node, nodeB.url);
});

let device: ModbusDevice;
test('the gateway state says which node the uplink is on (the URL, never credentials)', async (t) => {
  device = await startModbusDevice({ units: UNITS });
  t.after(() => device.stop());
  const deadPort = await freePort();
  const dead = `mqtt://127.0.0.1:${deadPort}`;
  const stateTopic = topics.gatewayState(SITE, 'gw');
  const sub = await subscriber(t, nodeB, stateTopic);
  await startUplinkGateway(t, device, dead, { uplink: { url: [dead, nodeB.url], username: 'site-hq', password: 'not-in-the-url-1' } });
  await sub.waitFor('the gateway state in the birth on node B', (ms) => ms.length > 0, WAIT_MS);
  const state = JSON.parse(sub.messages[0].text) as { uplink: { node: string; nodes: number; state: string } };
  assert.equal(state.uplink.node, nodeB.url);
  assert.equal(state.uplink.nodes, 2);
  assert.doesNotMatch(sub.messages[0].text, /not-in-the-url-1/);
});
