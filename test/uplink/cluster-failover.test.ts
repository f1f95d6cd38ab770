// The uplink on a real broker cluster: two RabbitMQ 3.10 nodes (Debian's rabbitmq-server with the
// MQTT plugin) clustered on loopback, started once for this file. gatehouse lists both nodes in
// `uplink.url`; the node it is on is SIGKILLed in the middle of a QoS 1 stream; it reaches the
// other node, sends its birth there, and every message it acknowledged arrives at a consumer on
// that node, in order per topic. Also the measured caveat docs/fleet.md relies on: RabbitMQ 3.10
// keeps retained messages per node and delivers them only to subscriptions without wildcards.
import assert from 'node:assert/strict';
import { after, before, test, type TestContext } from 'node:test';
import { topics } from '../../src/topics.js';
import { startModbusDevice, type ModbusDevice } from '../support/modbus-device.js';
import { connectClient, type MqttClient } from '../support/mqtt-client.js';
import { startRabbitCluster, type RabbitCluster } from '../support/rabbitmq.js';
import { USERS } from '../gateway/harness.js';
import { cloudSubscriber, type CloudSubscriber } from './cloud-subscriber.js';
import { SITE, UNITS, firstArrivals, startUplinkGateway, uniqueId, until } from './uplink-harness.js';

const WAIT_MS = 30_000;
const GATEWAY_STATE = topics.gatewayState(SITE, 'gw');
const ONLINE = topics.gatewayAvailability(SITE, 'gw');

let cluster: RabbitCluster;
let device: ModbusDevice;
before(async () => {
  [cluster, device] = await Promise.all([startRabbitCluster({ size: 2 }), startModbusDevice({ units: UNITS })]);
});
after(async () => {
  await Promise.all([cluster?.stop(), device?.stop()]);
});

async function consumer(t: TestContext, url: string, filters: string[]): Promise<CloudSubscriber> {
  const sub = await cloudSubscriber({ url, filters, clientId: uniqueId('cloud'), clean: true });
  t.after(() => sub.close());
  return sub;
}

/** A non-retained message to `topic` at `url`: whatever a subscriber had before it arrives came first. */
async function sentinel(port: number, topic: string, text: string): Promise<void> {
  const client = await connectClient({ port, clientId: uniqueId('sentinel') });
  await client.publishAsync(topic, text, { qos: 1 });
  await client.endAsync();
}

test('RabbitMQ 3.10: retained messages stay on the node they were published to and reach only exact-topic subscriptions', async (t) => {
  const [node1, node2] = cluster.nodes;
  const gw = await startUplinkGateway(t, device, node1.mqttUrl, { uplink: { url: [node1.mqttUrl, node2.mqttUrl] } });
  await until('the gateway up on node 1', () => {
    const { uplink } = gw.gateway['uplink']!.stateFields();
    return uplink.state === 'up' && uplink.node === node1.mqttUrl;
  }, WAIT_MS);

  // After the birth (retained gateway state published to node 1), four newcomers subscribe.
  const wildcard1 = await consumer(t, node1.mqttUrl, [`site/${SITE}/#`]);
  const wildcard2 = await consumer(t, node2.mqttUrl, [`site/${SITE}/#`]);
  const exact1 = await consumer(t, node1.mqttUrl, [GATEWAY_STATE]);
  const exact2 = await consumer(t, node2.mqttUrl, [GATEWAY_STATE]);
  // A live message after the subscriptions: anything retained would have been delivered before it.
  await sentinel(node1.mqttPort, GATEWAY_STATE, 'sentinel');
  for (const sub of [wildcard1, wildcard2, exact1, exact2]) {
    await sub.waitFor('the sentinel', (ms) => ms.some((m) => m.text === 'sentinel'), WAIT_MS);
  }
  const retainedBefore = (sub: CloudSubscriber) => sub.messages.slice(0, sub.messages.findIndex((m) => m.text === 'sentinel')).filter((m) => m.retain);
  assert.equal(retainedBefore(exact1).length, 1, 'an exact-topic subscriber on the node the gateway published to gets the retained state');
  assert.equal(JSON.parse(retainedBefore(exact1)[0].text).uplink.node, node1.mqttUrl);
  assert.deepEqual(retainedBefore(exact2), [], 'an exact-topic subscriber on the other node gets nothing: retained messages are per node');
  assert.deepEqual(retainedBefore(wildcard1), [], 'a wildcard subscriber gets no retained message, even on the same node');
  assert.deepEqual(retainedBefore(wildcard2), [], 'nor on the other node');
  await gw.stop();
});

test('SIGKILL the node gatehouse is on: it reaches the other node with its birth, and every acknowledged message arrives in order', async (t) => {
  const [node1, node2] = cluster.nodes;
  // The consumer sits on node 2 and subscribes before anything is sent: it is the fleet's back end.
  const cloud = await consumer(t, node2.mqttUrl, [`site/${SITE}/#`]);
  const gw = await startUplinkGateway(t, device, node1.mqttUrl, { uplink: { url: [node1.mqttUrl, node2.mqttUrl], forward: [`site/${SITE}/app/#`] } });
  const link = () => gw.gateway['uplink']!.stateFields().uplink;
  await cloud.waitFor('the birth, through node 1', (ms) => ms.some((m) => m.topic === ONLINE && m.text === 'online'), WAIT_MS);
  assert.equal(link().node, node1.mqttUrl);

  const local: MqttClient = await connectClient({ port: gw.port, ...USERS.guard });
  t.after(() => local.endAsync(true));
  const FEEDS = [`site/${SITE}/app/feed-a`, `site/${SITE}/app/feed-b`];
  const acked = FEEDS.map(() => 0);
  let streaming = true;
  // QoS 1 from a local client: gatehouse's PUBACK means the message is in its outbox.
  const stream = (async () => {
    for (let i = 0; streaming; i++) {
      const f = i % FEEDS.length;
      await local.publishAsync(FEEDS[f], String(acked[f] + 1), { qos: 1 });
      acked[f]++;
    }
  })();
  const total = () => acked.reduce((a, b) => a + b, 0);
  await until('a stream under way through node 1', () => total() >= 300 && cloud.messages.some((m) => m.topic === FEEDS[0]), WAIT_MS);
  await node1.kill();
  const killedAt = total();
  await until(() => `gatehouse up on node 2 (uplink: ${JSON.stringify(link())})`, () => link().state === 'up' && link().node === node2.mqttUrl, WAIT_MS);
  await until('more of the stream after the failover', () => total() >= killedAt + 300, WAIT_MS);
  streaming = false;
  await stream;

  for (const [f, topic] of FEEDS.entries()) {
    const expected = Array.from({ length: acked[f] }, (_, i) => String(i + 1));
    await cloud.waitFor(`all ${acked[f]} acknowledged messages of ${topic}`, (ms) => firstArrivals(ms, topic).length >= acked[f], WAIT_MS);
    assert.deepEqual(firstArrivals(cloud.messages, topic), expected, `${topic}: every acknowledged message, in order`);
    const seq = cloud.on(topic).map((m) => Number(m.text));
    const duplicates = seq.length - acked[f];
    t.diagnostic(`${topic}: ${acked[f]} acknowledged, ${duplicates} duplicates after the failover`);
  }
  const states = cloud.on(GATEWAY_STATE).map((m) => JSON.parse(m.text) as { uplink: { node: string; connection: number; command_qos: number } });
  t.diagnostic(`gateway states at the cloud: ${JSON.stringify(states.map((s) => s.uplink))}; births: ${cloud.on(ONLINE).length}`);
  const nodes = states.map((s) => s.uplink.node).filter((node, i, all) => node !== all[i - 1]);
  assert.deepEqual(nodes, [node1.mqttUrl, node2.mqttUrl], 'a birth on each node, each naming its node');
  // RabbitMQ 3.10 closes the connection on a QoS 1 SUBSCRIBE whose session queue is on the dead node;
  // gatehouse then subscribes at QoS 0 on node 2 (see cloud-link.ts).
  assert.equal(link().command_qos, 0);
});
