// Cloud commands over an MQTT 5 uplink (issue 16 section 2), end to end: a gateway with a pymodbus
// device, a real mosquitto as the cloud, MQTT.js speaking MQTT 5 as the operator. The message expiry
// interval counts from arrival and runs out while a command waits in the device queue; results
// answer a command's response topic with its correlation data; response topics that would make the
// gateway speak where it must not are refused; what goes up carries the gateway's user properties;
// a PUBACK 0x87 from the cloud ACL shows in the gateway state.
import assert from 'node:assert/strict';
import { after, before, beforeEach, test, type TestContext } from 'node:test';
import type { CommandResult } from '../../src/commands/result.js';
import { topics } from '../../src/topics.js';
import type { UplinkStateFields } from '../../src/uplink/uplink.js';
import { startModbusDevice, type ModbusDevice } from '../support/modbus-device.js';
import { dynsec, startCloudBroker, type CloudBroker } from './cloud-broker.js';
import { cloudSubscriber, type CloudSubscriber, type Received } from './cloud-subscriber.js';
import { GATE_A, GATE_B, GATEWAY_ID, SITE, TURNSTILE, UNITS, resetDevice, startUplinkGateway, uniqueId, until, waitForCoil, writesOf, type UplinkGateway } from './uplink-harness.js';

const WAIT_MS = 15_000;
const ALLOW = ['gate/*', 'turnstile/*'];
const GATEWAY_LOGIN = { username: 'gatehouse', password: 'gatehouse-cloud-1' };
const OPS = { username: 'ops', password: 'ops-cloud-1' };

let device: ModbusDevice;
let cloud: CloudBroker;
/** Dynamic security: the gateway may publish its site's tree except gate events. */
let guarded: CloudBroker;
before(async () => {
  device = await startModbusDevice({ units: UNITS });
  cloud = await startCloudBroker();
  guarded = await startCloudBroker({ dynsec: true, maxQueued: 10_000 });
  await dynsec(guarded, 'createRole', 'gateway');
  await dynsec(guarded, 'addRoleACL', 'gateway', 'publishClientSend', topics.siteTree(SITE), 'allow', '5');
  await dynsec(guarded, 'addRoleACL', 'gateway', 'publishClientSend', topics.event(SITE, 'gate', '+'), 'deny', '10');
  await dynsec(guarded, 'addRoleACL', 'gateway', 'subscribePattern', topics.siteTree(SITE), 'allow', '5');
  await dynsec(guarded, 'createRole', 'ops');
  await dynsec(guarded, 'addRoleACL', 'ops', 'publishClientSend', '#', 'allow', '5');
  await dynsec(guarded, 'addRoleACL', 'ops', 'subscribePattern', '#', 'allow', '5');
  for (const [user, role] of [[GATEWAY_LOGIN, 'gateway'], [OPS, 'ops']] as const) {
    await dynsec(guarded, 'createClient', user.username, '-p', user.password);
    await dynsec(guarded, 'addClientRole', user.username, role);
  }
});
after(async () => {
  await cloud?.dispose();
  await guarded?.dispose();
  await device?.stop();
});
beforeEach(() => resetDevice(device));

/** The operator: MQTT 5, watching results (and whatever else the test names). */
async function operator(t: TestContext, broker: CloudBroker, extra: string[] = [], login?: { username: string; password: string }): Promise<CloudSubscriber> {
  const client = await cloudSubscriber({
    url: broker.url,
    filters: [`site/${SITE}/+/+/result`, topics.gatewayState(SITE, GATEWAY_ID), ...extra],
    clientId: uniqueId('ops'),
    clean: true,
    protocol: 5,
    ...(login ?? {}),
  });
  t.after(() => client.close());
  return client;
}

async function gatewayUp(t: TestContext, broker: CloudBroker, ops: CloudSubscriber, opts: Parameters<typeof startUplinkGateway>[3] = {}): Promise<UplinkGateway> {
  const gw = await startUplinkGateway(t, device, broker.url, { ...opts, uplink: { protocol: '5', allow_commands: ALLOW, ...opts.uplink } });
  // Up: subscribed, and the birth acknowledged (the retained state at the cloud may be an earlier gateway's).
  await until('the link up', () => gw.gateway['uplink']!.stateFields().uplink.state === 'up', WAIT_MS);
  const startedAt = gw.gateway.gatewayState().started_at;
  await ops.waitFor('its birth', (ms) => ms.some((m) => m.topic === topics.gatewayState(SITE, GATEWAY_ID) && JSON.parse(m.text).started_at === startedAt), WAIT_MS);
  return gw;
}

function results(ops: CloudSubscriber, id: string): CommandResult[] {
  return ops.messages.filter((m) => m.topic.endsWith('/result')).map((m) => JSON.parse(m.text) as CommandResult).filter((r) => r.id === id);
}

async function resultFor(ops: CloudSubscriber, id: string): Promise<CommandResult> {
  await ops.waitFor(`the result of ${id}`, () => results(ops, id).length > 0, WAIT_MS);
  return results(ops, id)[0];
}

type Properties = { messageExpiryInterval?: number; responseTopic?: string; correlationData?: Buffer };

async function send(ops: CloudSubscriber, ref: { kind: string; id: string }, command: string, body: Record<string, unknown>, properties: Properties = {}): Promise<void> {
  await ops.client.publishAsync(topics.command(SITE, ref.kind, ref.id, command), JSON.stringify(body), { qos: 1, properties });
}

test('the message expiry interval runs out while the command waits behind a slow one: expired; one within its interval runs', async (t) => {
  const ops = await operator(t, cloud);
  // A passage holds the turnstile for 3 s; commands for it queue behind.
  await gatewayUp(t, cloud, ops, { harness: { turnstile: { pulse_ms: 3000, command_timeout_ms: 10_000 } } });
  const mark = device.writes.length;
  const blocker = uniqueId('pass');
  const short = uniqueId('lock-1s');
  const long = uniqueId('unlock-300s');
  await send(ops, TURNSTILE, 'pass', { id: blocker, direction: 'in' });
  await send(ops, TURNSTILE, 'lock', { id: short }, { messageExpiryInterval: 1 });
  await send(ops, TURNSTILE, 'unlock', { id: long }, { messageExpiryInterval: 300 });

  const first = await resultFor(ops, blocker);
  const expired = await resultFor(ops, short);
  const ran = await resultFor(ops, long);
  assert.equal(first.status, 'ok');
  assert.equal(expired.code, 'expired', expired.message);
  assert.match(expired.message, /expiry its sender gave it ran out/);
  assert.ok(expired.timing.received_at < first.timing.finished_at, 'it arrived while the passage was running and waited behind it');
  assert.equal(ran.status, 'ok', ran.message);
  assert.equal(ran.source, 'cloud');
  // The free-passage output (coil 2) saw the unlock only: the expired lock never reached it.
  assert.deepEqual(writesOf(device, TURNSTILE.unit, mark).filter((w) => w.address === 2).map((w) => w.values[0]), [true]);
});

test('a command with a message expiry interval that arrives within it runs at once', async (t) => {
  const ops = await operator(t, cloud);
  await gatewayUp(t, cloud, ops);
  const mark = device.writes.length;
  const id = uniqueId('unlock-1s');
  await send(ops, GATE_A, 'unlock', { id, duration_ms: 200 }, { messageExpiryInterval: 1 });
  assert.equal((await resultFor(ops, id)).status, 'ok');
  await waitForCoil(device, GATE_A.unit, 0, true, mark);
});

test('request/response: the result goes to the response topic with the correlation data, and to the result topic', async (t) => {
  const replies = `replies/${uniqueId('console')}`;
  const ops = await operator(t, cloud, [replies]);
  const gw = await gatewayUp(t, cloud, ops);
  const answers = () => ops.on(replies);

  const id = uniqueId('lock');
  await send(ops, GATE_A, 'lock', { id }, { responseTopic: replies, correlationData: Buffer.from('request-1') });
  // Without an id the gateway assigns one; the response carries the same one as the result topic.
  await send(ops, GATE_B, 'lock', {}, { responseTopic: replies, correlationData: Buffer.from('request-2') });
  await ops.waitFor('two responses', () => answers().length >= 2, WAIT_MS);

  const byCorrelation = new Map(answers().map((m) => [Buffer.from(m.properties?.correlationData ?? []).toString(), m] as const));
  const one = JSON.parse(byCorrelation.get('request-1')!.text) as CommandResult;
  assert.equal(one.id, id);
  assert.equal(one.status, 'ok');
  assert.deepEqual(one, await resultFor(ops, id), 'the same result as on the result topic');
  const two = JSON.parse(byCorrelation.get('request-2')!.text) as CommandResult;
  assert.equal(two.device, GATE_B.id);
  assert.deepEqual(two, await resultFor(ops, two.id), 'the assigned id, the same result as on the result topic');

  // User properties on what goes up: the gateway, its session, the message class.
  const session = String(JSON.parse(ops.on(topics.gatewayState(SITE, GATEWAY_ID)).at(-1)!.text).session);
  const props = (m: Received) => ({ ...m.properties?.userProperties });
  assert.deepEqual(props(byCorrelation.get('request-1')!), { gateway: GATEWAY_ID, session, class: 'result' });
  const onResultTopic = ops.messages.find((m) => m.topic === topics.result(SITE, 'gate', GATE_A.id))!;
  assert.deepEqual(props(onResultTopic), { gateway: GATEWAY_ID, session, class: 'result' });
  assert.equal(onResultTopic.properties?.correlationData, undefined, 'the result topic copy is not a response');
  assert.deepEqual(props(ops.on(topics.gatewayState(SITE, GATEWAY_ID)).at(-1)!), { gateway: GATEWAY_ID, session, class: 'retained' });
  assert.equal(gw.gateway['uplink']!.stateFields().uplink.protocol, '5');
});

test('response topics that would make the gateway speak where it must not: refused bad_request, nothing published or actuated', async (t) => {
  const ops = await operator(t, cloud, ['site/#']);
  await gatewayUp(t, cloud, ops);
  const mark = device.writes.length;
  const refused = [
    { topic: topics.command(SITE, 'gate', GATE_B.id, 'unlock'), why: /command topic/ },
    { topic: topics.state(SITE, 'gate', GATE_B.id), why: /only gatehouse publishes there/ },
    { topic: topics.command('other-site', 'gate', 'door-1', 'unlock'), why: /another site's namespace/ },
    { topic: '$SYS/broker/clients', why: /belong to the broker/ },
  ];
  const ids: string[] = [];
  for (const { topic } of refused) {
    const id = uniqueId('refused');
    ids.push(id);
    await send(ops, GATE_A, 'unlock', { id }, { responseTopic: topic, correlationData: Buffer.from(id) });
  }
  for (const [i, { topic, why }] of refused.entries()) {
    const result = await resultFor(ops, ids[i]);
    assert.equal(result.code, 'bad_request', topic);
    assert.ok(result.message.includes(JSON.stringify(topic)), `the message names the response topic: ${result.message}`);
    assert.match(result.message, why);
  }
  // A sentinel on the same gate runs after them; nothing before it was written, nothing was published at the refused topics.
  const sentinel = uniqueId('sentinel');
  await send(ops, GATE_A, 'lock', { id: sentinel });
  assert.equal((await resultFor(ops, sentinel)).status, 'ok');
  assert.deepEqual(writesOf(device, GATE_A.unit, mark).map((w) => w.values[0]), [false], 'only the sentinel lock was written');
  assert.equal(writesOf(device, GATE_B.unit, mark).length, 0, 'gate-b was never commanded');
  // The operator watches site/#: it sees its own commands, and would see a response at the refused topics of the site.
  const ours = topics.command(SITE, 'gate', GATE_A.id, 'unlock');
  const elsewhere = ops.messages.filter((m) => m.topic !== ours && !m.topic.endsWith('/result'));
  assert.deepEqual(elsewhere.filter((m) => ids.some((id) => m.text.includes(id))), [], 'no result anywhere but the result topic');
  assert.deepEqual(elsewhere.filter((m) => m.properties?.correlationData !== undefined), [], 'no response went anywhere');
});

test('a PUBACK 0x87 from the cloud ACL is logged, counted and shown in the gateway state; the rest flows', async (t) => {
  const ops = await operator(t, guarded, [topics.event(SITE, 'gate', '+')], OPS);
  const gw = await gatewayUp(t, guarded, ops, { uplink: { username: GATEWAY_LOGIN.username, password: GATEWAY_LOGIN.password } });
  const mark = device.writes.length;
  const id = uniqueId('unlock');
  // The unlock makes gate events (unlocked, locked), which this cloud ACL does not take from the gateway.
  await send(ops, GATE_A, 'unlock', { id, duration_ms: 200 });
  assert.equal((await resultFor(ops, id)).status, 'ok', 'results are allowed');
  await waitForCoil(device, GATE_A.unit, 0, false, mark, WAIT_MS);
  const fields = () => gw.gateway.gatewayState() as unknown as UplinkStateFields;
  await until('the refusal counted', () => fields().outbox.refused >= 1, WAIT_MS);
  const reason = fields().uplink.last_reason!;
  assert.deepEqual({ ...reason, at: 0 }, { packet: 'puback', reason_code: '0x87', reason: 'Not authorized', topic: topics.event(SITE, 'gate', GATE_A.id), at: 0 });
  assert.equal(fields().uplink.state, 'up');
  assert.equal(fields().uplink.connection, 1, 'a refusal does not cost the connection');
  await until('the outbox drained', () => fields().outbox.depth === 0, WAIT_MS);
  assert.deepEqual(ops.messages.filter((m) => m.topic.endsWith('/event')), [], 'the broker delivered no event');

  // The gateway state the cloud sees carries it too.
  await gw.gateway.publishGatewayState();
  await ops.waitFor('a gateway state with the refusal', (ms) => ms.some((m) => m.topic === topics.gatewayState(SITE, GATEWAY_ID) && JSON.parse(m.text).uplink?.last_reason?.reason_code === '0x87'), WAIT_MS);
  const state = JSON.parse(ops.on(topics.gatewayState(SITE, GATEWAY_ID)).at(-1)!.text) as UplinkStateFields;
  assert.ok(state.outbox.refused >= 1);
});
