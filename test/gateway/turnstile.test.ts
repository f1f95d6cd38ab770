// The turnstile end to end: passage pulses, free-passage mode and passage counters on a real
// Modbus device (coils 0/1 pass in/out, coil 2 free, input registers 0/1 counters).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { clientAs, commandTopic, parseJson, resultFor, sendCommand, startGateway, startSession, topicOf, uniqueId, waitForCoil, watch, writesOf } from '../support/gateway.js';
import { mosquittoPub, mosquittoSub } from '../support/mosquitto.js';
import { TURNSTILE, USERS, siteDevice } from '../support/site.js';
import { sleep } from '../support/wait.js';

const PULSE_MS = 150;
const CLOCK_TOLERANCE_MS = 30;

const device = siteDevice();

test('pass in pulses coil 0 true then false; pass out uses coil 1', async (t) => {
  const gw = await startGateway(t, device, { turnstile: { pulse_ms: PULSE_MS } });
  const sub = await mosquittoSub({ port: gw.port, ...USERS.guard, topics: [topicOf(TURNSTILE, 'result')] });
  t.after(() => sub.stop());
  const mark = device.writes.length;

  const id = uniqueId('pass-in');
  const pub = await mosquittoPub({
    port: gw.port,
    ...USERS.guard,
    topic: commandTopic(TURNSTILE, 'pass'),
    message: JSON.stringify({ id, direction: 'in' }),
    qos: 1,
  });
  assert.equal(pub.code, 0, pub.stderr);
  const result = JSON.parse((await sub.waitFor((m) => JSON.parse(m.text).id === id)).text);
  assert.equal(result.status, 'ok');
  assert.deepEqual(result.data, { direction: 'in' });
  const on = await waitForCoil(device, TURNSTILE.unit, 0, true, mark);
  const off = await waitForCoil(device, TURNSTILE.unit, 0, false, mark);
  assert.ok(device.writes.indexOf(on) < device.writes.indexOf(off));
  assert.ok(off.t - on.t >= PULSE_MS - CLOCK_TOLERANCE_MS, `pulse lasted ${Math.round(off.t - on.t)} ms, pulse_ms is ${PULSE_MS}`);

  const markOut = device.writes.length;
  const out = uniqueId('pass-out');
  const client = await clientAs(t, gw.port, 'guard');
  const results = await watch(client, topicOf(TURNSTILE, 'result'));
  await sendCommand(client, TURNSTILE, 'pass', { id: out, direction: 'out' });
  assert.equal((await resultFor(results, out)).status, 'ok');
  await waitForCoil(device, TURNSTILE.unit, 1, false, markOut);
  assert.deepEqual(
    writesOf(device, TURNSTILE.unit, mark).map((w) => [w.address, w.values[0]]),
    [[0, true], [0, false], [1, true], [1, false]],
  );
});

test('unlock and lock switch the free-passage coil 2, with events and state', async (t) => {
  const { client, results } = await startSession(t, device, TURNSTILE);
  const events = await watch(client, topicOf(TURNSTILE, 'event'));
  const states = await watch(client, topicOf(TURNSTILE, 'state'));
  assert.equal(parseJson(await states.waitFor(() => true)).mode, 'locked');
  const mark = device.writes.length;

  const unlock = uniqueId('free');
  await sendCommand(client, TURNSTILE, 'unlock', { id: unlock });
  assert.equal((await resultFor(results, unlock)).status, 'ok');
  await waitForCoil(device, TURNSTILE.unit, 2, true, mark);
  await events.waitFor((m) => parseJson(m).event === 'unlocked');
  await states.waitFor((m) => parseJson(m).mode === 'free');
  assert.deepEqual(await device.get(TURNSTILE.unit, 'co', 2, 1), [true]);

  const lock = uniqueId('lock');
  await sendCommand(client, TURNSTILE, 'lock', { id: lock });
  assert.equal((await resultFor(results, lock)).status, 'ok');
  await waitForCoil(device, TURNSTILE.unit, 2, false, mark);
  await events.waitFor((m) => parseJson(m).event === 'locked');
  await states.waitFor((m) => parseJson(m).mode === 'locked' && states.messages.indexOf(m) > 0);
  assert.deepEqual(writesOf(device, TURNSTILE.unit, mark).map((w) => [w.address, w.values[0]]), [[2, true], [2, false]]);
});

test('a passage counter increase becomes a passage event with the count; retained state has the totals', async (t) => {
  const gw = await startGateway(t, device);
  const client = await clientAs(t, gw.port, 'viewer');
  const events = await watch(client, topicOf(TURNSTILE, 'event'));
  const states = await watch(client, topicOf(TURNSTILE, 'state'));
  const initial = parseJson(await states.waitFor(() => true));
  assert.equal(initial.passages_in, 0);
  assert.equal(initial.passages_out, 0);

  await device.set(TURNSTILE.unit, 'ir', 0, [1]);
  const first = parseJson(await events.waitFor((m) => parseJson(m).event === 'passage'));
  assert.deepEqual({ direction: first.direction, count: first.count, total: first.total }, { direction: 'in', count: 1, total: 1 });
  await device.set(TURNSTILE.unit, 'ir', 0, [3]);
  await device.set(TURNSTILE.unit, 'ir', 1, [2]);
  const second = parseJson(await events.waitFor((m) => parseJson(m).event === 'passage' && parseJson(m).total === 3));
  assert.equal(second.count, 2);
  const outward = parseJson(await events.waitFor((m) => parseJson(m).direction === 'out'));
  assert.equal(outward.count, 2);
  await states.waitFor((m) => parseJson(m).passages_in === 3 && parseJson(m).passages_out === 2);

  await sleep(100);
  const late = await clientAs(t, gw.port, 'viewer');
  const retained = await (await watch(late, topicOf(TURNSTILE, 'state'))).waitFor(() => true);
  assert.equal(retained.retain, true);
  assert.equal(parseJson(retained).passages_in, 3);
  assert.equal(parseJson(retained).passages_out, 2);
});
