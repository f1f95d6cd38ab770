// The per-device queue end to end (DESIGN.md sections 1 and 3): commands to one device run one at
// a time in arrival order, a full queue answers `busy`, a device that does not answer gives
// `timeout`, and every accepted command gets exactly one terminal result.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { clientAs, resultFor, resultsWithId, sendCommand, startGateway, startSession, topicOf, uniqueId, watch, writesOf } from '../support/gateway.js';
import { mosquittoSub } from '../support/mosquitto.js';
import { GATE_A, GATE_B, TURNSTILE, USERS, siteDevice, type DeviceRef } from '../support/site.js';
import { until } from '../support/wait.js';

const device = siteDevice();

test('commands to one gate run in arrival order', async (t) => {
  const { client, results } = await startSession(t, device, GATE_A);
  const mark = device.writes.length;
  const plan = ['unlock', 'lock', 'unlock', 'lock', 'unlock', 'lock'].map((command, i) => ({ command, id: uniqueId(`fifo-${i}`) }));

  // Published back to back without waiting for results; MQTT keeps one client's order (section 4.6).
  await Promise.all(plan.map((p) => sendCommand(client, GATE_A, p.command, p.command === 'unlock' ? { id: p.id, duration_ms: 5000 } : { id: p.id })));
  const last = await resultFor(results, plan[plan.length - 1].id);
  assert.equal(last.status, 'ok');

  const received = results.messages.map((m) => JSON.parse(m.payload.toString()));
  assert.deepEqual(received.map((r) => r.id), plan.map((p) => p.id), 'results come in the order the commands were sent');
  assert.ok(received.every((r) => r.status === 'ok'));
  const starts = received.map((r) => r.timing.started_at as number);
  const ends = received.map((r) => r.timing.finished_at as number);
  for (let i = 1; i < received.length; i++) {
    assert.ok(starts[i] >= ends[i - 1], `command ${i} started after command ${i - 1} finished`);
  }
  assert.deepEqual(writesOf(device, GATE_A.unit, mark).map((w) => w.values[0]), [true, false, true, false, true, false]);
});

test('a full queue answers busy, and busy commands never reach the device', async (t) => {
  const { client, results } = await startSession(t, device, TURNSTILE, { commands: { queue_limit: 2 }, turnstile: { pulse_ms: 400 } });
  const mark = device.writes.length;
  const ids = [0, 1, 2, 3, 4].map((i) => uniqueId(`pass-${i}`));

  await Promise.all(ids.map((id) => sendCommand(client, TURNSTILE, 'pass', { id, direction: 'in' })));
  const outcome = await Promise.all(ids.map((id) => resultFor(results, id)));
  // One pass running and one waiting fill a queue of 2; the rest are turned away at once.
  assert.deepEqual(outcome.map((r) => r.code ?? r.status), ['ok', 'ok', 'busy', 'busy', 'busy']);
  for (const busy of outcome.slice(2)) assert.match(busy.message, /queued/);
  // A sentinel passage ends the absence check: nothing for the busy ones was written before it.
  const sentinel = uniqueId('sentinel');
  await sendCommand(client, TURNSTILE, 'pass', { id: sentinel, direction: 'in' });
  assert.equal((await resultFor(results, sentinel)).status, 'ok');
  await until('the sentinel passage to end', () => writesOf(device, TURNSTILE.unit, mark).length >= 6);
  assert.deepEqual(
    writesOf(device, TURNSTILE.unit, mark).map((w) => [w.address, w.values[0]]),
    [[0, true], [0, false], [0, true], [0, false], [0, true], [0, false]],
    'two passages pulsed, none for the busy ones, then the sentinel',
  );
});

test('a unit that does not answer: timeout within command_timeout_ms, and exactly one result', async (t) => {
  const commandTimeoutMs = 400;
  const transportTimeoutMs = 1000;
  const gw = await startGateway(t, device, {
    transport: { timeout_ms: transportTimeoutMs },
    gateA: { command_timeout_ms: commandTimeoutMs, offline_after: 10 },
  });
  const client = await clientAs(t, gw.port, 'guard');
  const results = await watch(client, topicOf(GATE_A, 'result'));
  const mark = device.writes.length;

  await device.mute(GATE_A.unit, true);
  t.after(() => device.mute(GATE_A.unit, false).catch(() => undefined));
  const id = uniqueId('muted');
  const dropped = device.waitForDropped(GATE_A.unit);
  await sendCommand(client, GATE_A, 'unlock', { id, duration_ms: 200 });
  const result = await resultFor(results, id);
  assert.equal(result.status, 'error');
  assert.equal(result.code, 'timeout', result.message);
  assert.ok(result.timing.total_ms >= commandTimeoutMs - 5, `answered after ${result.timing.total_ms} ms, the timeout is ${commandTimeoutMs} ms`);
  await dropped;

  // Once the unit answers again, a sentinel lock queues behind whatever the timed-out unlock left
  // on the link: the late failure of its write yields no second result, and it is not sent again.
  // (A sentinel may itself time out behind a request still stuck on the link: send another.)
  await device.mute(GATE_A.unit, false);
  await until('a sentinel lock to go through', async () => {
    const sentinel = uniqueId('sentinel');
    await sendCommand(client, GATE_A, 'lock', { id: sentinel });
    return (await resultFor(results, sentinel)).status === 'ok';
  });
  assert.equal(resultsWithId(results, id).length, 1);
  const stored = writesOf(device, GATE_A.unit, mark).map((w) => w.values[0]);
  assert.ok(stored.length > 0 && stored.every((v) => v === false), `only sentinel locks were stored, the timed-out unlock was not sent again: ${stored}`);
});

test('a command that timed out waiting for the link is not written to the device later', async (t) => {
  // gate-b's unit stops answering, so a write to it holds the shared link for the transport
  // timeout; gate-a's unlock queues behind it and its own, shorter command timeout fires first.
  // The pipeline's AbortSignal reaches the transport's queue, which withdraws a write that has
  // not reached the wire yet; without it the door would open after the client was told `timeout`.
  const transportTimeoutMs = 1500;
  const gw = await startGateway(t, device, {
    transport: { timeout_ms: transportTimeoutMs },
    gateA: { command_timeout_ms: 400 },
    // Long enough for gate-b's sentinel below to wait out a poll still stuck on the muted unit.
    gateB: { offline_after: 100, command_timeout_ms: 10_000 },
  });
  const client = await clientAs(t, gw.port, 'guard');
  const results = await watch(client, 'site/hq/gate/+/result');
  await device.mute(GATE_B.unit, true);
  t.after(() => device.mute(GATE_B.unit, false).catch(() => undefined));
  const mark = device.writes.length;

  const blocker = uniqueId('blocker');
  const blocking = device.waitForDropped(GATE_B.unit);
  await sendCommand(client, GATE_B, 'lock', { id: blocker });
  await blocking;
  const id = uniqueId('late');
  await sendCommand(client, GATE_A, 'unlock', { id, duration_ms: 5000 });
  const result = await resultFor(results, id);
  assert.equal(result.code, 'timeout', result.message);

  // The client was told the unlock timed out; the door must not open once the link frees up. A
  // sentinel lock on gate-b queues on the link behind anything gate-a's unlock left there.
  await resultFor(results, blocker);
  await device.mute(GATE_B.unit, false);
  const sentinel = uniqueId('sentinel');
  await sendCommand(client, GATE_B, 'lock', { id: sentinel });
  assert.equal((await resultFor(results, sentinel)).status, 'ok');
  assert.deepEqual(
    writesOf(device, GATE_A.unit, mark).map((w) => w.values[0]),
    [],
    'gate-a was released after its unlock was reported as timed out',
  );
});

test('exactly one terminal result per command when 50 arrive at once over 3 devices', async (t) => {
  const gw = await startGateway(t, device, { commands: { queue_limit: 64 } });
  const sub = await mosquittoSub({ port: gw.port, ...USERS.guard, topics: ['site/hq/+/+/result'] });
  t.after(() => sub.stop());
  const senders = [await clientAs(t, gw.port, 'guard'), await clientAs(t, gw.port, 'guard')];
  const targets: DeviceRef[] = [GATE_A, GATE_B, TURNSTILE];
  const plan = Array.from({ length: 50 }, (_, i) => {
    const ref = targets[i % 3];
    const command = Math.floor(i / 3) % 2 === 0 ? 'unlock' : 'lock';
    const payload: Record<string, unknown> = { id: uniqueId(`burst-${i}`) };
    if (ref.kind === 'gate' && command === 'unlock') payload.duration_ms = 5000;
    return { ref, command, payload, id: payload.id as string };
  });

  await Promise.all(plan.map((p, i) => sendCommand(senders[i % 2], p.ref, p.command, p.payload)));
  await until('a result for every command', () => plan.every((p) => sub.messages.some((m) => JSON.parse(m.text).id === p.id)), 20_000);
  // A sentinel command on each device ends the wait for stray results.
  const sentinels = targets.map((ref) => ({ ref, id: uniqueId(`sentinel-${ref.id}`) }));
  for (const s of sentinels) await sendCommand(senders[0], s.ref, 'lock', { id: s.id });
  await until('the sentinels\' results', () => sentinels.every((s) => sub.messages.some((m) => JSON.parse(m.text).id === s.id)));
  const all = sub.messages
    .map((m) => ({ topic: m.topic, result: JSON.parse(m.text) }))
    .filter((r) => !sentinels.some((s) => s.id === r.result.id));
  for (const p of plan) {
    const mine = all.filter((r) => r.result.id === p.id);
    assert.equal(mine.length, 1, `${p.id}: exactly one result`);
    assert.equal(mine[0].topic, topicOf(p.ref, 'result'));
    assert.equal(mine[0].result.status, 'ok', `${p.id}: ${mine[0].result.message}`);
  }
  assert.equal(all.length, plan.length, 'no stray results');
});
