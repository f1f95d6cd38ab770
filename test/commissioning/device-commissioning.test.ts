// Commissioning on a running gateway against Debian's pymodbus: readNow gives the driver's points by
// name, pulseOutput switches one output on and off through the device's command queue (a command
// sent meanwhile waits behind it), refusals for an unknown device or output, a bad length, a busy
// device and an offline one; each action is a `commissioning` row of the journal (gatehouse journal).
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import type { DeviceCommissioning } from '../../src/commissioning/device-commissioning.js';
import { clientAs, resultFor, sendCommand, startGateway, topicOf, uniqueId, waitForAvailability, watch, writesOf, type RunningGateway } from '../support/gateway.js';
import { runCli } from '../support/cli-process.js';
import { GATE_A, TURNSTILE, siteDevice } from '../support/site.js';

const device = siteDevice();
const ADMIN = { username: 'tech', source: 'console', peer: '127.0.0.1' };

async function running(t: TestContext): Promise<{ gw: RunningGateway; commissioning: DeviceCommissioning }> {
  const gw = await startGateway(t, device);
  const commissioning = gw.gateway.commissioning;
  assert.ok(commissioning, 'a started gateway offers commissioning');
  return { gw, commissioning };
}

async function journalRows(dataDir: string): Promise<Record<string, unknown>[]> {
  const run = await runCli(['journal', '--data-dir', dataDir, '--type', 'commissioning', '--json']);
  assert.equal(run.code, 0, run.stderr);
  return run.stdout.split('\n').filter(Boolean).map((line) => JSON.parse(line) as Record<string, unknown>);
}

test('readNow: every point of the driver by its name, as the device holds it now; journalled', async (t) => {
  const { gw, commissioning } = await running(t);
  await device.set(GATE_A.unit, 'di', 0, [true]);
  await device.set(TURNSTILE.unit, 'ir', 0, [1234, 1180]);
  const gate = await commissioning.readNow(GATE_A.id, ADMIN);
  assert.ok(gate.ok, JSON.stringify(gate));
  assert.deepEqual(gate.readings, { door: true, unlock: false });
  assert.deepEqual([gate.device, gate.kind, gate.outputs, gate.inputs], [GATE_A.id, 'gate', ['unlock'], ['door']]);
  const turnstile = await commissioning.readNow(TURNSTILE.id, ADMIN);
  assert.ok(turnstile.ok, JSON.stringify(turnstile));
  assert.deepEqual(turnstile.readings, { passages_in: 1234, passages_out: 1180, pass_in: false, pass_out: false, free: false });
  const unknown = await commissioning.readNow('nope', ADMIN);
  assert.deepEqual(unknown, { ok: false, code: 'unknown_device', message: 'no device nope' });

  const rows = await journalRows(gw.dataDir);
  assert.deepEqual(
    rows.map((r) => [r.command, r.device, r.kind, r.status, r.code, r.username, r.source, r.peer]),
    [
      ['read', GATE_A.id, 'gate', 'ok', undefined, 'tech', 'console', '127.0.0.1'],
      ['read', TURNSTILE.id, 'turnstile', 'ok', undefined, 'tech', 'console', '127.0.0.1'],
      ['read', 'nope', undefined, 'error', 'unknown_device', 'tech', 'console', '127.0.0.1'],
    ],
  );
  assert.deepEqual(JSON.parse(rows[0].payload as string), { readings: { door: true, unlock: false } });
  const text = await runCli(['journal', '--data-dir', gw.dataDir, '--type', 'commissioning']);
  assert.equal(text.code, 0, text.stderr);
  const lines = text.stdout.split('\n').filter(Boolean);
  assert.match(lines[0], /^\S+Z  gate\/gate-a +commissioning read +ok +console tech 127\.0\.0\.1  \{"readings":\{"door":true,"unlock":false\}\}$/);
  assert.match(lines[2], /^\S+Z  -\/nope +commissioning read +error unknown_device +console tech 127\.0\.0\.1  no device nope$/);
});

test('pulseOutput: on, then off after the pulse; a command sent meanwhile waits behind it; journalled', async (t) => {
  const { gw, commissioning } = await running(t);
  const guard = await clientAs(t, gw.port, 'guard');
  const results = await watch(guard, topicOf(GATE_A, 'result'));
  const from = device.writes.length;
  const pulse = commissioning.pulseOutput(GATE_A.id, { output: 'unlock', ms: 300 }, ADMIN);
  await device.waitForWrite((w) => device.writes.indexOf(w) >= from && w.unit === GATE_A.unit && w.values[0] === true);
  const id = uniqueId('during-pulse');
  await sendCommand(guard, GATE_A, 'lock', { id });
  const outcome = await pulse;
  assert.ok(outcome.ok, JSON.stringify(outcome));
  assert.deepEqual([outcome.device, outcome.output, outcome.ms], [GATE_A.id, 'unlock', 300]);
  const result = await resultFor(results, id);
  assert.equal(result.status, 'ok', JSON.stringify(result));
  // The pulse's on and off, then the lock command's write: nothing in between.
  assert.deepEqual(writesOf(device, GATE_A.unit, from).slice(0, 3).map((w) => [w.address, w.values[0]]), [[0, true], [0, false], [0, false]]);
  assert.deepEqual(await device.get(GATE_A.unit, 'co', 0, 1), [false]);

  const rows = await journalRows(gw.dataDir);
  assert.equal(rows.length, 1);
  assert.deepEqual([rows[0].command, rows[0].device, rows[0].status, rows[0].username], ['pulse', GATE_A.id, 'ok', 'tech']);
  assert.deepEqual(JSON.parse(rows[0].payload as string), { output: 'unlock', ms: 300 });
});

test('pulseOutput refuses an unknown device or output and a length out of bounds, writing nothing', async (t) => {
  const { gw, commissioning } = await running(t);
  const from = device.writes.length;
  const refusals = [
    await commissioning.pulseOutput('nope', { output: 'unlock', ms: 100 }, ADMIN),
    await commissioning.pulseOutput(GATE_A.id, { output: 'alarm', ms: 100 }, ADMIN),
    await commissioning.pulseOutput(GATE_A.id, { output: 'unlock', ms: 10 }, ADMIN),
    await commissioning.pulseOutput(GATE_A.id, { output: 'unlock', ms: 60_000 }, ADMIN),
    await commissioning.pulseOutput(GATE_A.id, { output: 'unlock', ms: 1.5 }, ADMIN),
  ];
  assert.deepEqual(refusals, [
    { ok: false, code: 'unknown_device', message: 'no device nope' },
    { ok: false, code: 'bad_request', message: 'gate-a has no output "alarm"; outputs: unlock' },
    { ok: false, code: 'bad_request', message: 'ms must be an integer 50..10000, got 10' },
    { ok: false, code: 'bad_request', message: 'ms must be an integer 50..10000, got 60000' },
    { ok: false, code: 'bad_request', message: 'ms must be an integer 50..10000, got 1.5' },
  ]);
  // A sentinel pulse: had a refused one written anything, it would be recorded before this one's.
  const sentinel = await commissioning.pulseOutput(TURNSTILE.id, { output: 'free', ms: 50 }, ADMIN);
  assert.ok(sentinel.ok, JSON.stringify(sentinel));
  assert.deepEqual(device.writes.slice(from).map((w) => [w.unit, w.address, w.values[0]]), [[TURNSTILE.unit, 2, true], [TURNSTILE.unit, 2, false]]);
  const rows = await journalRows(gw.dataDir);
  assert.deepEqual(rows.map((r) => [r.command, r.device, r.status, r.code]), [
    ['pulse', 'nope', 'error', 'unknown_device'],
    ['pulse', GATE_A.id, 'error', 'bad_request'],
    ['pulse', GATE_A.id, 'error', 'bad_request'],
    ['pulse', GATE_A.id, 'error', 'bad_request'],
    ['pulse', GATE_A.id, 'error', 'bad_request'],
    ['pulse', TURNSTILE.id, 'ok', undefined],
  ]);
});

test('pulseOutput refuses a device busy with a command, and one that is offline; readNow says why it cannot read', async (t) => {
  const { gw, commissioning } = await running(t);
  const guard = await clientAs(t, gw.port, 'guard');
  const results = await watch(guard, topicOf(GATE_A, 'result'));
  const availability = await watch(guard, topicOf(GATE_A, 'availability'));
  await waitForAvailability(availability, GATE_A, 'online');
  // A muted unit holds the command on the wire until the transport's timeout.
  await device.mute(GATE_A.unit, true);
  const dropped = device.waitForDropped(GATE_A.unit);
  const id = uniqueId('held');
  await sendCommand(guard, GATE_A, 'unlock', { id });
  await dropped;
  const busy = await commissioning.pulseOutput(GATE_A.id, { output: 'unlock', ms: 100 }, ADMIN);
  assert.equal(busy.ok, false);
  assert.equal(!busy.ok && busy.code, 'busy');
  assert.match(!busy.ok ? busy.message : '', /gate-a is busy: 1 command running or queued/);
  await resultFor(results, id);
  await waitForAvailability(availability, GATE_A, 'offline');
  const offline = await commissioning.pulseOutput(GATE_A.id, { output: 'unlock', ms: 100 }, ADMIN);
  assert.deepEqual(offline, { ok: false, code: 'offline', message: 'gate gate-a is offline' });
  const read = await commissioning.readNow(GATE_A.id, ADMIN);
  assert.equal(read.ok, false);
  assert.equal(!read.ok && read.code, 'timeout');
  await device.mute(GATE_A.unit, false);
  const rows = await journalRows(gw.dataDir);
  assert.deepEqual(rows.map((r) => [r.command, r.status, r.code]), [
    ['pulse', 'error', 'busy'],
    ['pulse', 'error', 'offline'],
    ['read', 'error', 'timeout'],
  ]);
});

test('a gateway stopping during a pulse lets it end: the output goes off, the pulse is answered ok and journalled', async (t) => {
  const { gw, commissioning } = await running(t);
  const from = device.writes.length;
  const pulse = commissioning.pulseOutput(TURNSTILE.id, { output: 'free', ms: 400 }, ADMIN);
  await device.waitForWrite((w) => device.writes.indexOf(w) >= from && w.unit === TURNSTILE.unit && w.address === 2 && w.values[0] === true);
  const stopped = gw.stop();
  const outcome = await pulse;
  assert.ok(outcome.ok, JSON.stringify(outcome));
  await stopped;
  assert.deepEqual(writesOf(device, TURNSTILE.unit, from).filter((w) => w.address === 2).slice(0, 2).map((w) => w.values[0]), [true, false]);
  assert.deepEqual(await device.get(TURNSTILE.unit, 'co', 2, 1), [false]);
  const rows = await journalRows(gw.dataDir);
  assert.deepEqual(rows.map((r) => [r.command, r.device, r.status]), [['pulse', TURNSTILE.id, 'ok']]);
});
