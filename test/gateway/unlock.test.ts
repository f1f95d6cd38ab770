// Gate unlock pulses end to end: MQTT command in, coil writes on a real Modbus device, result,
// retained state and events out (DESIGN.md sections 2 and 3).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { clientAs, commandTopic, parseJson, resultFor, resultsWithId, sendCommand, startGateway, startSession, topicOf, uniqueId, waitForCoil, watch, writesOf } from '../support/gateway.js';
import { mosquittoPub, mosquittoSub } from '../support/mosquitto.js';
import { GATE_A, USERS, siteDevice } from '../support/site.js';
import { until } from '../support/wait.js';

/** Timers and the device's clock may differ by a few ms; this is how much earlier a relock may look. */
const CLOCK_TOLERANCE_MS = 30;

const device = siteDevice();

test('unlock: one ok result with the id, coil 0 true then false after duration_ms, state and events follow', async (t) => {
  const gw = await startGateway(t, device);
  const sub = await mosquittoSub({
    port: gw.port,
    ...USERS.guard,
    topics: [topicOf(GATE_A, 'result'), topicOf(GATE_A, 'state'), topicOf(GATE_A, 'event')],
  });
  t.after(() => sub.stop());
  assert.deepEqual(sub.granted, [2, 2, 2]);
  const js = await clientAs(t, gw.port, 'guard');
  const jsResults = await watch(js, topicOf(GATE_A, 'result'));
  // The retained state arrives on subscribe: the gate was locked at start.
  const initial = await sub.waitFor((m) => m.topic === topicOf(GATE_A, 'state'));
  assert.equal(initial.retain, true);
  assert.equal(JSON.parse(initial.text).lock, 'locked');

  const mark = device.writes.length;
  const id = uniqueId('unlock');
  const durationMs = 400;
  const pub = await mosquittoPub({
    port: gw.port,
    ...USERS.guard,
    topic: commandTopic(GATE_A, 'unlock'),
    message: JSON.stringify({ id, duration_ms: durationMs }),
    qos: 1,
  });
  assert.equal(pub.code, 0, pub.stderr);

  const resultMsg = await sub.waitFor((m) => m.topic === topicOf(GATE_A, 'result'));
  assert.equal(resultMsg.qos, 1, 'results are published at QoS 1');
  const result = JSON.parse(resultMsg.text);
  assert.equal(result.id, id);
  assert.equal(result.command, 'unlock');
  assert.equal(result.status, 'ok');
  assert.equal(result.source, 'local');
  assert.equal(typeof result.data.unlocked_until, 'number');
  assert.equal(result.code, undefined);

  const released = await waitForCoil(device, GATE_A.unit, 0, true, mark);
  const relocked = await waitForCoil(device, GATE_A.unit, 0, false, mark);
  assert.ok(device.writes.indexOf(released) < device.writes.indexOf(relocked), 'release is written before relock');
  assert.ok(
    relocked.t - released.t >= durationMs - CLOCK_TOLERANCE_MS,
    `relock came ${Math.round(relocked.t - released.t)} ms after release; the pulse was ${durationMs} ms`,
  );
  assert.ok(relocked.t >= result.data.unlocked_until - CLOCK_TOLERANCE_MS, 'relock does not come before unlocked_until');

  // State: retained locked, then unlocked, then locked. Events: unlocked, then locked.
  const isState = (lock: string) => (m: { topic: string; text: string }) => m.topic === topicOf(GATE_A, 'state') && JSON.parse(m.text).lock === lock;
  const unlockedState = await sub.waitFor(isState('unlocked'));
  await sub.waitFor((m) => isState('locked')(m) && sub.messages.indexOf(m) > sub.messages.indexOf(unlockedState));
  await sub.waitFor((m) => m.topic === topicOf(GATE_A, 'event') && JSON.parse(m.text).event === 'locked');
  const states = sub.messages.filter((m) => m.topic === topicOf(GATE_A, 'state')).map((m) => JSON.parse(m.text).lock);
  const compact = states.filter((s, i) => i === 0 || s !== states[i - 1]);
  assert.deepEqual(compact, ['locked', 'unlocked', 'locked']);
  const events = sub.messages.filter((m) => m.topic === topicOf(GATE_A, 'event')).map((m) => JSON.parse(m.text));
  assert.deepEqual(events.map((e) => e.event), ['unlocked', 'locked']);
  for (const e of events) {
    assert.equal(e.device, GATE_A.id);
    assert.equal(e.kind, 'gate');
  }

  // Exactly one result for the command, on both clients, and exactly two writes on the device:
  // a sentinel lock's result and write come after anything the unlock could still have sent.
  const sentinel = uniqueId('sentinel');
  await sendCommand(js, GATE_A, 'lock', { id: sentinel });
  await sub.waitFor((m) => m.topic === topicOf(GATE_A, 'result') && JSON.parse(m.text).id === sentinel);
  assert.deepEqual(sub.messages.filter((m) => m.topic === topicOf(GATE_A, 'result')).map((m) => JSON.parse(m.text).id), [id, sentinel]);
  await resultFor(jsResults, sentinel);
  assert.equal(resultsWithId(jsResults, id).length, 1);
  assert.deepEqual(writesOf(device, GATE_A.unit, mark).map((w) => w.values[0]), [true, false, false], 'release, relock, the sentinel lock');

  // A client arriving now gets the retained state: locked.
  const late = await clientAs(t, gw.port, 'viewer');
  const lateState = await watch(late, topicOf(GATE_A, 'state'));
  const retained = await lateState.waitFor(() => true);
  assert.equal(retained.retain, true);
  assert.equal(parseJson(retained).lock, 'locked');
});

test('unlock while unlocked extends the pulse: no relock before the second pulse ends', async (t) => {
  const { client, results } = await startSession(t, device, GATE_A);
  const mark = device.writes.length;

  // The second unlock is sent as soon as the first has released the gate: well inside a first pulse
  // long enough for a loaded machine, and no sleep decides the order.
  const first = uniqueId('first');
  await sendCommand(client, GATE_A, 'unlock', { id: first, duration_ms: 2000 });
  const firstResult = await resultFor(results, first);
  assert.equal(firstResult.status, 'ok');
  await waitForCoil(device, GATE_A.unit, 0, true, mark);
  const second = uniqueId('second');
  await sendCommand(client, GATE_A, 'unlock', { id: second, duration_ms: 2500 });
  const secondResult = await resultFor(results, second);
  assert.equal(secondResult.status, 'ok');
  const secondUntil = secondResult.data?.unlocked_until as number;
  assert.ok(secondUntil > (firstResult.data?.unlocked_until as number), 'the second pulse ends later than the first');

  const relocked = await waitForCoil(device, GATE_A.unit, 0, false, mark);
  assert.ok(
    relocked.t >= secondUntil - CLOCK_TOLERANCE_MS,
    `relocked ${Math.round(secondUntil - relocked.t)} ms before the extended pulse ended`,
  );
  // A sentinel lock ends the absence check: no second relock came between.
  const sentinel = uniqueId('sentinel');
  await sendCommand(client, GATE_A, 'lock', { id: sentinel });
  assert.equal((await resultFor(results, sentinel)).status, 'ok');
  assert.deepEqual(
    writesOf(device, GATE_A.unit, mark).map((w) => w.values[0]),
    [true, true, false, false],
    'two releases, one relock at the end of the extended pulse, then the sentinel lock',
  );
});

test('lock during a pulse relocks at once and no relock follows when the pulse would have ended', async (t) => {
  const { gw, client, results } = await startSession(t, device, GATE_A);
  const events = await watch(client, topicOf(GATE_A, 'event'));
  const mark = device.writes.length;

  // Long enough that the lock lands inside it on a loaded machine, short enough to watch it end.
  const pulseMs = 2000;
  const unlock = uniqueId('pulse');
  await sendCommand(client, GATE_A, 'unlock', { id: unlock, duration_ms: pulseMs });
  const unlockResult = await resultFor(results, unlock);
  assert.equal(unlockResult.status, 'ok');
  const pulseEnd = unlockResult.data?.unlocked_until as number;
  await waitForCoil(device, GATE_A.unit, 0, true, mark);

  const lock = uniqueId('lock');
  await sendCommand(client, GATE_A, 'lock', { id: lock });
  const lockResult = await resultFor(results, lock);
  assert.equal(lockResult.status, 'ok');
  const relocked = await waitForCoil(device, GATE_A.unit, 0, false, mark);
  assert.ok(relocked.t <= lockResult.timing.finished_at + CLOCK_TOLERANCE_MS, 'the lock result comes after the write');
  assert.ok(relocked.t < pulseEnd, 'the lock relocked before the pulse would have ended');
  await events.waitFor((m) => parseJson(m).event === 'locked');

  const stateClient = await clientAs(t, gw.port, 'viewer');
  const state = parseJson(await (await watch(stateClient, topicOf(GATE_A, 'state'))).waitFor(() => true));
  assert.equal(state.lock, 'locked');
  assert.equal(state.unlocked_until, null);
  // Let the pulse's end pass (the time passing is the point), then a sentinel pulse: a relock left
  // over from the first pulse was due earlier, so it would be written before the sentinel's writes.
  await until('the end of the cancelled pulse', () => Date.now() > pulseEnd + CLOCK_TOLERANCE_MS);
  const sentinel = uniqueId('sentinel');
  const sentinelMark = device.writes.length;
  await sendCommand(client, GATE_A, 'unlock', { id: sentinel, duration_ms: 100 });
  assert.equal((await resultFor(results, sentinel)).status, 'ok');
  await waitForCoil(device, GATE_A.unit, 0, false, sentinelMark);
  assert.deepEqual(writesOf(device, GATE_A.unit, mark).map((w) => w.values[0]), [true, false, true, false], 'release, the lock, then only the sentinel pulse');
});
