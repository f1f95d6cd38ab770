// Commands from the cloud (issue 3, "Downward"): they take the same pipeline as local ones, with
// source `cloud` and the allow-list in place of an ACL; their results go back through the outbox.
import assert from 'node:assert/strict';
import { after, before, beforeEach, test } from 'node:test';
import type { CommandResult } from '../../src/commands/result.js';
import { topics } from '../../src/topics.js';
import { startModbusDevice, type ModbusDevice } from '../support/modbus-device.js';
import { startCloudBroker, type CloudBroker } from './cloud-broker.js';
import { cloudSubscriber, type CloudSubscriber } from './cloud-subscriber.js';
import { GATE_A, GATE_B, SITE, TURNSTILE, UNITS, resetDevice, startUplinkGateway, uniqueId, waitForCoil, writesOf } from './uplink-harness.js';

const WAIT_MS = 10_000;
const ALLOW = ['gate/unlock', 'gate/lock', 'turnstile/lock'];

let device: ModbusDevice;
let cloud: CloudBroker;
before(async () => {
  device = await startModbusDevice({ units: UNITS });
  cloud = await startCloudBroker();
});
after(async () => {
  await cloud?.dispose();
  await device?.stop();
});
beforeEach(() => resetDevice(device));

async function cloudClient(t: import('node:test').TestContext, label: string): Promise<CloudSubscriber> {
  const client = await cloudSubscriber({ url: cloud.url, filters: [`site/${SITE}/+/+/result`], clientId: uniqueId(label), clean: true });
  t.after(() => client.close());
  return client;
}

function resultsWithId(client: CloudSubscriber, id: string): CommandResult[] {
  return client.messages.filter((m) => m.topic.endsWith('/result')).map((m) => JSON.parse(m.text) as CommandResult).filter((r) => r.id === id);
}

async function resultFor(client: CloudSubscriber, id: string, count = 1): Promise<CommandResult[]> {
  await client.waitFor(`${count} result(s) for ${id}`, () => resultsWithId(client, id).length >= count, WAIT_MS);
  return resultsWithId(client, id);
}

async function sendFromCloud(client: CloudSubscriber, ref: { kind: string; id: string }, command: string, body: unknown, retain = false): Promise<void> {
  await client.client.publishAsync(topics.command(SITE, ref.kind, ref.id, command), JSON.stringify(body), { qos: 1, retain });
}

async function linkUp(t: import('node:test').TestContext): Promise<CloudSubscriber> {
  await startUplinkGateway(t, device, cloud.url, { uplink: { allow_commands: ALLOW } });
  const watcher = await cloudSubscriber({ url: cloud.url, filters: [topics.gatewayState(SITE, 'gw')], clientId: uniqueId('watch'), clean: true });
  t.after(() => watcher.close());
  // The gateway state is retained at the cloud: the link is up once one says so.
  await watcher.waitFor('the link up', (ms) => ms.some((m) => JSON.parse(m.text).uplink?.connection >= 1), WAIT_MS);
  return watcher;
}

test('an allowed cloud command runs, with source cloud, and its result reaches the cloud', async (t) => {
  const client = await cloudClient(t, 'ops');
  await linkUp(t);
  const mark = device.writes.length;
  const id = uniqueId('cloud-unlock');
  await sendFromCloud(client, GATE_A, 'unlock', { id, duration_ms: 300 });
  const [result] = await resultFor(client, id);
  assert.equal(result.status, 'ok');
  assert.equal(result.source, 'cloud');
  assert.equal(result.command, 'unlock');
  await waitForCoil(device, GATE_A.unit, 0, true, mark);
  await waitForCoil(device, GATE_A.unit, 0, false, mark, WAIT_MS);
});

test('a command outside the allow-list is forbidden and never reaches the device', async (t) => {
  const client = await cloudClient(t, 'ops');
  await linkUp(t);
  const mark = device.writes.length;
  const id = uniqueId('cloud-pass');
  await sendFromCloud(client, TURNSTILE, 'pass', { id, direction: 'in' });
  const [result] = await resultFor(client, id);
  assert.equal(result.code, 'forbidden');
  assert.equal(result.source, 'cloud');
  // A sentinel allowed command on the same device runs after it; nothing else was written.
  const sentinel = uniqueId('sentinel');
  await sendFromCloud(client, TURNSTILE, 'lock', { id: sentinel });
  assert.equal((await resultFor(client, sentinel))[0].status, 'ok');
  assert.equal(writesOf(device, TURNSTILE.unit, mark).filter((w) => w.address !== 2).length, 0, 'no passage output was pulsed');
});

test('an expired cloud command is refused without touching the device', async (t) => {
  const client = await cloudClient(t, 'ops');
  await linkUp(t);
  const mark = device.writes.length;
  const id = uniqueId('stale');
  await sendFromCloud(client, GATE_B, 'unlock', { id, sent_at: Date.now() - 600_000 });
  const [result] = await resultFor(client, id);
  assert.equal(result.code, 'expired');
  const sentinel = uniqueId('sentinel');
  await sendFromCloud(client, GATE_B, 'lock', { id: sentinel });
  assert.equal((await resultFor(client, sentinel))[0].status, 'ok');
  assert.deepEqual(writesOf(device, GATE_B.unit, mark).map((w) => w.values[0]), [false], 'only the sentinel lock was written');
});

test('a repeated cloud command id runs once; the first result comes back marked duplicate', async (t) => {
  const client = await cloudClient(t, 'ops');
  await linkUp(t);
  const mark = device.writes.length;
  const id = uniqueId('twice');
  await sendFromCloud(client, GATE_A, 'unlock', { id, duration_ms: 200 });
  await resultFor(client, id);
  await sendFromCloud(client, GATE_A, 'unlock', { id, duration_ms: 200 });
  const [first, second] = await resultFor(client, id, 2);
  assert.equal(first.status, 'ok');
  assert.equal(second.duplicate, true);
  assert.deepEqual(second.timing, first.timing, 'the first result, sent again');
  await waitForCoil(device, GATE_A.unit, 0, false, mark, WAIT_MS);
  assert.equal(writesOf(device, GATE_A.unit, mark).filter((w) => w.values[0] === true).length, 1, 'released once');
});

test('a retained command left at the cloud broker is never executed', async (t) => {
  const client = await cloudClient(t, 'ops');
  const stale = uniqueId('retained');
  await sendFromCloud(client, GATE_B, 'unlock', { id: stale }, true);
  try {
    // Counted from before the gateway starts: a release during start-up would show.
    const mark = device.writes.length;
    await linkUp(t);
    const sentinel = uniqueId('sentinel');
    await sendFromCloud(client, GATE_B, 'lock', { id: sentinel });
    assert.equal((await resultFor(client, sentinel))[0].status, 'ok');
    assert.deepEqual(resultsWithId(client, stale), [], 'no result: it was never submitted');
    assert.equal(writesOf(device, GATE_B.unit, mark).filter((w) => w.values[0] === true).length, 0);
  } finally {
    // An empty retained message clears it (MQTT-3.3.1-10).
    await client.client.publishAsync(topics.command(SITE, GATE_B.kind, GATE_B.id, 'unlock'), '', { qos: 1, retain: true });
  }
});

test('clean session: a command sent while the gateway was away is not replayed when it returns', async (t) => {
  const client = await cloudClient(t, 'ops');
  const first = await startUplinkGateway(t, device, cloud.url, { uplink: { allow_commands: ALLOW } });
  const watcher = await cloudSubscriber({ url: cloud.url, filters: [topics.gatewayAvailability(SITE, 'gw')], clientId: uniqueId('watch'), clean: true });
  t.after(() => watcher.close());
  await watcher.waitFor('online', (ms) => ms.at(-1)?.text === 'online', WAIT_MS);
  await first.stop();
  await watcher.waitFor('offline', (ms) => ms.at(-1)?.text === 'offline', WAIT_MS);

  const queued = uniqueId('while-away');
  await sendFromCloud(client, GATE_A, 'unlock', { id: queued });
  // Counted from before the gateway starts again: a replay during start-up would show.
  const mark = device.writes.length;
  await startUplinkGateway(t, device, cloud.url, { dataDir: first.dataDir, uplink: { allow_commands: ALLOW } });
  await watcher.waitFor('online again', (ms) => ms.at(-1)?.text === 'online', WAIT_MS);
  const sentinel = uniqueId('sentinel');
  await sendFromCloud(client, GATE_A, 'lock', { id: sentinel });
  assert.equal((await resultFor(client, sentinel))[0].status, 'ok');
  assert.deepEqual(resultsWithId(client, queued), []);
  assert.equal(writesOf(device, GATE_A.unit, mark).filter((w) => w.values[0] === true).length, 0, 'never released');
});
