// The gateway's own commands from the cloud (issue 16, section 1): a real mosquitto as the cloud
// broker, the gateway's uplink, MQTT.js as the operator's fleet tool. They come down the command
// subscriptions of this gateway's id, pass `uplink.allow_commands` (where a "*" kind never covers
// the gateway), and their results go up, within the cloud broker's Maximum Packet Size under MQTT 5,
// and to an MQTT 5 response topic with its correlation data.
import assert from 'node:assert/strict';
import { after, before, test, type TestContext } from 'node:test';
import type { CommandResult } from '../../src/commands/result.js';
import { topics } from '../../src/topics.js';
import { startModbusDevice, type ModbusDevice } from '../support/modbus-device.js';
import { startCloudBroker, type CloudBroker } from '../uplink/cloud-broker.js';
import { cloudSubscriber, type CloudSubscriber } from '../uplink/cloud-subscriber.js';
import { GATE_A, GATEWAY_ID, SITE, UNITS, startUplinkGateway, uniqueId, until, type UplinkGateway } from '../uplink/uplink-harness.js';

const WAIT_MS = 15_000;
/** The cloud broker's max_packet_size: also the Maximum Packet Size of its CONNACK to MQTT 5 clients. */
const CLOUD_MAX_PACKET = 8192;
const RESULTS = topics.gatewayResult(SITE, GATEWAY_ID);

let device: ModbusDevice;
let cloud: CloudBroker;
let small: CloudBroker;
before(async () => {
  device = await startModbusDevice({ units: UNITS });
  cloud = await startCloudBroker();
  small = await startCloudBroker({ maxPacketSize: CLOUD_MAX_PACKET });
});
after(async () => {
  await cloud?.dispose();
  await small?.dispose();
  await device?.stop();
});

async function operator(t: TestContext, broker: CloudBroker, extra: string[] = []): Promise<CloudSubscriber> {
  const client = await cloudSubscriber({ url: broker.url, filters: [RESULTS, `site/${SITE}/+/+/result`, ...extra], clientId: uniqueId('fleet'), clean: true, protocol: 5 });
  t.after(() => client.close());
  return client;
}

async function gatewayUp(t: TestContext, broker: CloudBroker, uplink: Record<string, unknown>): Promise<UplinkGateway> {
  const gw = await startUplinkGateway(t, device, broker.url, { uplink });
  await until('the link up', () => gw.gateway['uplink']!.stateFields().uplink.state === 'up', WAIT_MS);
  return gw;
}

function resultsWithId(ops: CloudSubscriber, id: string): CommandResult[] {
  return ops.messages.filter((m) => m.topic.endsWith('/result')).map((m) => JSON.parse(m.text) as CommandResult).filter((r) => r.id === id);
}

async function ask(ops: CloudSubscriber, command: string, body: Record<string, unknown> = {}, gatewayId = GATEWAY_ID): Promise<CommandResult> {
  const id = uniqueId(command);
  await ops.client.publishAsync(topics.gatewayCommand(SITE, gatewayId, command), JSON.stringify({ id, ...body }), { qos: 1 });
  await ops.waitFor(`the result of ${id}`, () => resultsWithId(ops, id).length > 0, WAIT_MS);
  return resultsWithId(ops, id)[0];
}

test('from the cloud: what uplink.allow_commands lists runs with source cloud; the rest is forbidden, "*/*" included', async (t) => {
  const ops = await operator(t, cloud);
  await gatewayUp(t, cloud, { allow_commands: ['*/*', 'gateway/status', 'gateway/outbox'] });

  const status = await ask(ops, 'status');
  assert.equal(status.status, 'ok', status.message);
  assert.equal(status.source, 'cloud');
  assert.equal((status.data!.devices as unknown[]).length, 3);

  const outbox = await ask(ops, 'outbox');
  assert.equal(outbox.data!.enabled, true);
  const figures = outbox.data!.outbox as Record<string, unknown>;
  for (const key of ['depth', 'bytes', 'oldest_age_s', 'dropped', 'in_flight']) assert.ok(Object.hasOwn(figures, key), key);
  assert.equal((outbox.data!.uplink as { state: string }).state, 'up');

  // Not listed by name: "*/*" covers the doors, not the gateway.
  for (const command of ['config', 'reload', 'journal']) {
    const refused = await ask(ops, command);
    assert.equal(refused.code, 'forbidden', command);
    assert.equal(refused.data, undefined, `${command}: no data in a refusal`);
  }
  // The same "*/*" still lets the cloud lock a gate.
  const lock = uniqueId('lock');
  await ops.client.publishAsync(topics.command(SITE, GATE_A.kind, GATE_A.id, 'lock'), JSON.stringify({ id: lock }), { qos: 1 });
  await ops.waitFor('the lock result', () => resultsWithId(ops, lock).some((r) => r.status === 'ok'), WAIT_MS);
});

test("from the cloud: another gateway's commands are not this gateway's business", async (t) => {
  const ops = await operator(t, cloud);
  await gatewayUp(t, cloud, { allow_commands: ['gateway/*'] });
  const id = uniqueId('other');
  await ops.client.publishAsync(topics.gatewayCommand(SITE, 'gw-2', 'status'), JSON.stringify({ id }), { qos: 1 });
  // A sentinel to this gateway: answered, while the other gateway's command got no answer at all.
  const sentinel = await ask(ops, 'status');
  assert.equal(sentinel.status, 'ok');
  assert.deepEqual(resultsWithId(ops, id), []);
});

test('from the cloud under MQTT 5: a journal result fits the broker\'s maximum packet size, with more: true; the response topic gets it too', async (t) => {
  const replies = `fleet/replies/${uniqueId('tool')}`;
  const ops = await operator(t, small, [replies]);
  const gw = await gatewayUp(t, small, { protocol: '5', allow_commands: ['gateway/journal', 'gate/lock'] });
  await until('the broker limits known', () => gw.gateway['uplink']!.stateFields().uplink.broker_limits?.maximum_packet_size === CLOUD_MAX_PACKET, WAIT_MS);

  // Journal rows enough for several packets of the cloud's size, one lock at a time: a burst would
  // fill the gate's queue, and a lock answered `busy` at once is journaled before those still queued.
  let last = '';
  for (let i = 0; i < 60; i++) {
    last = `fill-${i}-${'y'.repeat(100)}`.slice(0, 64);
    await ops.client.publishAsync(topics.command(SITE, GATE_A.kind, GATE_A.id, 'lock'), JSON.stringify({ id: last }), { qos: 1 });
    const id = last;
    await ops.waitFor(`the result of ${id}`, () => resultsWithId(ops, id).length > 0, WAIT_MS);
  }

  const result = await until('the journal with the last lock', async () => {
    const id = uniqueId('journal');
    await ops.client.publishAsync(topics.gatewayCommand(SITE, GATEWAY_ID, 'journal'), JSON.stringify({ id, device: GATE_A.id, limit: 500 }), {
      qos: 1,
      properties: { responseTopic: replies, correlationData: Buffer.from(id) },
    });
    await ops.waitFor(`the result of ${id}`, () => resultsWithId(ops, id).length >= 2, WAIT_MS);
    const got = resultsWithId(ops, id)[0];
    return (got.data!.rows as { command_id: string }[]).at(-1)?.command_id === last && got;
  }, WAIT_MS * 2);
  assert.equal(result.status, 'ok');
  assert.equal(result.data!.more, true);
  const size = Buffer.byteLength(JSON.stringify(result));
  assert.ok(size + RESULTS.length + 64 <= CLOUD_MAX_PACKET, `a result of ${size} bytes fits ${CLOUD_MAX_PACKET}`);
  // Nothing was too large for the cloud: no message dropped for its size.
  assert.equal(gw.gateway['uplink']!.stateFields().outbox.too_large, 0);
  // The response topic's copy carries the request's correlation data.
  const reply = ops.messages.find((m) => m.topic === replies && Buffer.from(m.properties?.correlationData ?? []).toString() === result.id);
  assert.ok(reply, 'an answer on the response topic');
  assert.deepEqual(JSON.parse(reply.text), result);
});
