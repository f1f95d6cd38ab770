// Safe state on start (DESIGN.md section 3): each output is driven to its configured state
// (lock, unlock, or left alone) before the gateway announces itself online.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { clientAs, gatewayAvailabilityTopic, parseJson, recordGatewayPublishes, startGateway, topicOf, watch, writesOf, type PublishRecord } from '../support/gateway.js';
import { GATE_A, TURNSTILE, siteDevice } from '../support/site.js';
import { sleep } from '../support/wait.js';

const device = siteDevice();

function onlineAt(published: PublishRecord[], topic: string): number {
  const online = published.find((p) => p.topic === topic && p.payload === 'online');
  assert.ok(online, `${topic} was published online`);
  assert.equal(online.retain, true);
  return online.at;
}

async function retainedState(t: Parameters<typeof clientAs>[0], port: number, ref: typeof GATE_A | typeof TURNSTILE) {
  const client = await clientAs(t, port, 'viewer');
  return parseJson(await (await watch(client, topicOf(ref, 'state'))).waitFor(() => true));
}

test('on_start lock: a gate left released is locked before the gateway says online', async (t) => {
  await device.set(GATE_A.unit, 'co', 0, [true]); // released when the previous run died
  await device.set(TURNSTILE.unit, 'co', 0, [true, false, true]); // mid-pulse and free
  const mark = device.writes.length;
  const published = recordGatewayPublishes(t);
  const gw = await startGateway(t, device, { gateA: { on_start: 'lock' }, turnstile: { on_start: 'lock' } });

  const gateWrites = writesOf(device, GATE_A.unit, mark);
  assert.deepEqual(gateWrites.map((w) => [w.address, w.values[0]]), [[0, false]]);
  const gatewayOnline = onlineAt(published, gatewayAvailabilityTopic);
  const deviceOnline = onlineAt(published, topicOf(GATE_A, 'availability'));
  assert.ok(gateWrites[0].t <= gatewayOnline, 'the lock write happened before the gateway announced itself online');
  assert.ok(gateWrites[0].t <= deviceOnline, 'and before the gate was announced online');
  assert.deepEqual(await device.get(GATE_A.unit, 'co', 0, 1), [false]);

  const turnstileWrites = writesOf(device, TURNSTILE.unit, mark);
  assert.deepEqual(turnstileWrites.map((w) => [w.address, w.values[0]]), [[0, false], [1, false], [2, false]]);
  assert.ok(turnstileWrites.every((w) => w.t <= gatewayOnline));

  assert.equal((await retainedState(t, gw.port, GATE_A)).lock, 'locked');
  assert.equal((await retainedState(t, gw.port, TURNSTILE)).mode, 'locked');
});

test('on_start unlock: a fail-safe door is released before the gateway says online', async (t) => {
  const mark = device.writes.length;
  const published = recordGatewayPublishes(t);
  const gw = await startGateway(t, device, { gateA: { on_start: 'unlock' }, turnstile: { on_start: 'unlock' } });

  const gateWrites = writesOf(device, GATE_A.unit, mark);
  assert.deepEqual(gateWrites.map((w) => [w.address, w.values[0]]), [[0, true]]);
  const gatewayOnline = onlineAt(published, gatewayAvailabilityTopic);
  assert.ok(gateWrites[0].t <= gatewayOnline);
  const free = writesOf(device, TURNSTILE.unit, mark).find((w) => w.address === 2);
  assert.deepEqual(free?.values, [true]);
  assert.ok(free.t <= gatewayOnline);

  await sleep(300);
  assert.deepEqual(await device.get(GATE_A.unit, 'co', 0, 1), [true], 'no pulse: it stays released');
  assert.equal((await retainedState(t, gw.port, GATE_A)).lock, 'unlocked');
  assert.equal((await retainedState(t, gw.port, TURNSTILE)).mode, 'free');
});

test('on_start leave: nothing is written; the state is read from the device', async (t) => {
  await device.set(GATE_A.unit, 'co', 0, [true]);
  const mark = device.writes.length;
  const gw = await startGateway(t, device, { gateA: { on_start: 'leave' } });
  await sleep(300);
  assert.deepEqual(writesOf(device, GATE_A.unit, mark), [], 'leave writes nothing');
  assert.deepEqual(await device.get(GATE_A.unit, 'co', 0, 1), [true]);
  assert.equal((await retainedState(t, gw.port, GATE_A)).lock, 'unlocked');
});
