// The pulsed output alone (a gate's lock, a barrier's arm): what happens when its switch-off fails.
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { performance } from 'node:perf_hooks';
import { pulsedOutput, type Interlock } from '../../../src/devices/capabilities/pulsed-output.js';
import { DeviceError } from '../../../src/driver-api.js';
import { until } from '../../support/wait.js';
import { pieceContext } from './piece-context.js';

interface LockOptions {
  onStart?: string;
  hold?: (on: boolean) => Promise<void> | undefined;
  interlock?: Interlock;
  fail?: (on: boolean) => boolean | Error;
  announceReadback?: boolean;
}

function lock(t: TestContext, failOff: () => boolean, offAction: string | null = 'relock', o: LockOptions = {}) {
  const piece = pulsedOutput({
    output: 'unlock',
    onStart: { off: 'lock', on: 'unlock', doc: 'locked on start' },
    field: { name: 'lock', off: 'locked', on: 'unlocked', doc: 'the lock' },
    pulse: { setting: 'unlock_ms', maxSetting: 'max_unlock_ms', min: 10, max: 60_000, default: 5000, maxDefault: 60_000 },
    events: { on: { name: 'unlocked', doc: 'unlocked' }, off: { name: 'locked', doc: 'locked' } },
    ...(offAction ? { offAction } : {}),
    ...(o.announceReadback ? { announceReadback: true } : {}),
    ...(o.interlock ? { interlock: () => o.interlock! } : {}),
  });
  const fail = o.fail ?? ((on: boolean) => !on && failOff());
  const pc = pieceContext({ on_start: o.onStart ?? 'lock', unlock_ms: 5000, max_unlock_ms: 60_000 }, { failWrite: (_output, on) => fail(on), ...(o.hold ? { holdWrite: (_output: string, on: boolean) => o.hold!(on) } : {}) });
  const output = piece.create(pc.ctx, undefined as never);
  t.after(async () => {
    pc.ctx.lane.stop();
    await output.stop();
  });
  return { ...pc, output };
}

test('a relock that fails is logged as such and tried again until the lock is off', async (t) => {
  let failures = 2;
  const { output, tried, logs } = lock(t, () => failures-- > 0);
  await output.pulse(20, new AbortController().signal);
  await until('the lock off after two failed relocks', () => output.value === 'off');
  assert.deepEqual(tried.map((w) => w.on), [true, false, false, false]);
  const failed = logs.filter((l) => l.msg === 'relock failed; retrying');
  assert.equal(failed.length, 2);
  assert.equal(failed[0].level, 'error');
  assert.deepEqual(failed.map((l) => (l.obj as { retry_ms: number }).retry_ms), [250, 500], 'the retry backs off');
  assert.equal((failed[0].obj as { output: string }).output, 'unlock');
});

test('a stop whose switch-off fails logs it and still ends', async (t) => {
  const { output, ctx, logs } = lock(t, () => true);
  await output.pulse(60_000, new AbortController().signal);
  ctx.lane.stop();
  await output.stop();
  const failed = logs.find((l) => l.msg === 'could not relock while stopping');
  assert.ok(failed, logs.map((l) => l.msg).join('\n'));
  assert.equal(failed.level, 'error');
  assert.equal(output.value, 'on', 'the write failed: the output is not known off');
});

test('without a name for its switch-off, the log says "switch off"', async (t) => {
  let failures = 1;
  const { output, ctx, logs } = lock(t, () => failures-- > 0, null);
  await output.pulse(20, new AbortController().signal);
  await until('off after one failed switch-off', () => output.value === 'off');
  assert.deepEqual(logs.filter((l) => l.level === 'error').map((l) => l.msg), ['switch off failed; retrying']);
  await output.pulse(60_000, new AbortController().signal);
  failures = 1;
  ctx.lane.stop();
  await output.stop();
  assert.deepEqual(logs.filter((l) => l.level === 'error').map((l) => l.msg), ['switch off failed; retrying', 'could not switch off while stopping']);
});

const signal = () => new AbortController().signal;
const infos = (logs: { level: string; msg: string; obj: object }[]) => logs.filter((l) => l.level === 'info').map((l) => `${l.msg} (${(l.obj as { reason: string }).reason})`);
/** A timer due later than the first retry of a failed switch-off (250 ms): when it runs, that retry would have. */
const afterFirstRetry = () => new Promise((resolve) => setTimeout(resolve, 300));

test('every write is logged with why it was made; a pulse hands its length to the write', async (t) => {
  const { output, tried, logs } = lock(t, () => false);
  await output.applySafeState();
  await output.pulse(60_000, signal());
  await output.secure();
  await output.set(true);
  await output.set(false);
  assert.deepEqual(infos(logs), [
    'test locked (safe state on start)',
    'test unlocked (pulse command)',
    'test locked (off command)',
    'test unlocked (on command)',
    'test locked (off command)',
  ]);
  assert.deepEqual(tried[1], { output: 'unlock', on: true, args: { duration_ms: 60_000 } });
});

test('on_start unlock switches on at start, leave writes nothing', async (t) => {
  const on = lock(t, () => false, 'relock', { onStart: 'unlock' });
  await on.output.applySafeState();
  assert.deepEqual(on.tried, [{ output: 'unlock', on: true }]);
  assert.deepEqual(infos(on.logs), ['test unlocked (safe state on start)']);
  const left = lock(t, () => false, 'relock', { onStart: 'leave' });
  await left.output.applySafeState();
  assert.deepEqual(left.tried, []);
});

test('a pulse whose write may have reached the device is switched off again; one refused before it is not', async (t) => {
  const lost = lock(t, () => false, 'relock', { fail: (on) => (on ? new DeviceError('timeout', 'no reply') : false) });
  await assert.rejects(lost.output.pulse(60_000, signal()), /no reply/);
  await until('switched off after the lost reply', () => lost.writes.some((w) => !w.on));
  const refused = lock(t, () => false, 'relock', { fail: (on) => (on ? new DeviceError('offline', 'not sent', { notApplied: true }) : false) });
  await assert.rejects(refused.output.pulse(60_000, signal()), /not sent/);
  await afterFirstRetry();
  assert.deepEqual(refused.tried, [{ output: 'unlock', on: true, args: { duration_ms: 60_000 } }], 'nothing was switched on: nothing to switch off');
});

test("set() withdraws the write of a command that timed out before the write's turn", async (t) => {
  const { output, tried } = lock(t, () => false);
  const timedOut = new AbortController();
  timedOut.abort();
  await assert.rejects(output.set(true, timedOut.signal), (err: unknown) => err instanceof DeviceError && err.code === 'timeout' && err.notApplied);
  assert.deepEqual(tried, []);
});

test('a readback that differs from what gatehouse wrote is logged; an off readback ends the pulse', async (t) => {
  const { output, logs, events } = lock(t, () => false);
  output.observe({ unlock: false }, performance.now());
  assert.deepEqual(logs.filter((l) => l.level === 'warn'), [], 'the first reading is no surprise');
  await output.pulse(60_000, signal());
  output.observe({ unlock: true }, performance.now());
  assert.deepEqual(logs.filter((l) => l.level === 'warn'), [], 'on as written');
  output.observe({ unlock: false }, performance.now());
  const warned = logs.filter((l) => l.level === 'warn');
  assert.deepEqual(warned.map((l) => [l.msg, l.obj]), [['output changed outside gatehouse', { output: 'unlock', expected: 'on', hardware: 'off' }]]);
  assert.deepEqual(output.state(), { lock: 'locked' });
  assert.deepEqual(events.map((e) => e.type), ['unlocked'], 'a readback is not announced unless the kind asks');
});

test('an on readback during a pulse leaves the pulse to end by itself', async (t) => {
  const { output, writes } = lock(t, () => false);
  await output.pulse(50, signal());
  output.observe({ unlock: true }, performance.now());
  await until('relocked at the end of the pulse', () => writes.some((w) => !w.on));
  assert.equal(output.value, 'off');
});

test('with announceReadback a change seen only in the readback is an event too', async (t) => {
  const { output, events } = lock(t, () => false, 'relock', { announceReadback: true });
  output.observe({ unlock: false }, performance.now());
  output.observe({ unlock: true }, performance.now());
  assert.deepEqual(events.map((e) => e.type), ['unlocked']);
});

test('a stop switches off a pulse under way even when on_start is leave, and a relock still being retried', async (t) => {
  const pulsing = lock(t, () => false, 'relock', { onStart: 'leave' });
  await pulsing.output.pulse(60_000, signal());
  pulsing.ctx.lane.stop();
  await pulsing.output.stop();
  assert.deepEqual(pulsing.writes.map((w) => w.on), [true, false]);
  let failures = 1;
  const retrying = lock(t, () => failures-- > 0, 'relock', { onStart: 'leave' });
  await retrying.output.pulse(20, signal());
  await until('the relock failed once', () => retrying.tried.length === 2);
  retrying.ctx.lane.stop();
  await retrying.output.stop();
  assert.deepEqual(retrying.writes.map((w) => w.on), [true, false], 'switched off at the stop');
});

/** A barrier's safety loop, set by hand: `clear`, and the switch-off it holds back. */
function loop(clear: boolean) {
  const held: (() => void)[] = [];
  const interlock: Interlock = {
    clear,
    whenClear: (then) => (interlock.clear ? then() : void held.splice(0, held.length, then)),
    cancel: () => void held.splice(0),
  };
  return { interlock, held, clearNow: () => ((interlock as { clear: boolean }).clear = true, held.splice(0).forEach((then) => then())) };
}

test('the end of a pulse waits for the interlock, then switches off', async (t) => {
  const l = loop(false);
  const { output, writes } = lock(t, () => false, null, { interlock: l.interlock });
  await output.pulse(20, signal());
  await until('the switch-off held by the interlock', () => l.held.length === 1);
  assert.deepEqual(writes.map((w) => w.on), [true], 'still on while the loop is occupied');
  l.clearNow();
  await until('off once clear', () => output.value === 'off');
});

test('a stop leaves the output on when the interlock is not clear, and says so', async (t) => {
  const l = loop(false);
  const { output, ctx, writes, logs } = lock(t, () => false, null, { interlock: l.interlock });
  await output.pulse(60_000, signal());
  ctx.lane.stop();
  await output.stop();
  assert.deepEqual(writes.map((w) => w.on), [true]);
  assert.deepEqual(logs.filter((l) => l.level === 'warn').map((l) => [l.msg, l.obj]), [['left on at the stop: the interlock is not clear', { output: 'unlock' }]]);
});

test('how long it has been off: -1 while unknown or on (a door opening then is not forced)', async (t) => {
  const { output } = lock(t, () => false);
  assert.equal(output.offForMs(), -1, 'unknown');
  await output.set(false);
  const since = Date.now();
  await until('time passes', () => Date.now() - since >= 20);
  assert.ok(output.offForMs() >= 20);
  await output.set(true);
  assert.equal(output.offForMs(), -1, 'on');
});

test('a relock queued behind a fresh pulse is dropped: the new unlock is not cut short', async (t) => {
  let release: (() => void) | undefined;
  const { output, ctx, writes } = lock(t, () => false, 'relock', { hold: (on) => (on && writes.length === 1 ? new Promise<void>((r) => (release = r)) : undefined) });
  await output.pulse(20, signal());
  const second = output.pulse(60_000, signal());
  await until('the second unlock written, its reply held', () => release !== undefined);
  // The first pulse ends while the second's write holds the lane: its relock queues behind it.
  const first = Date.now();
  await until('the first pulse is over', () => Date.now() - first > 40);
  release!();
  await second;
  await ctx.lane.settle();
  assert.deepEqual(writes.map((w) => w.on), [true, true], 'no relock after the second unlock');
  assert.equal(output.value, 'on');
});

test('no retries after a stop', async (t) => {
  const { output, ctx, tried } = lock(t, () => true);
  await output.pulse(20, signal());
  await until('the relock failed once', () => tried.length === 2);
  ctx.lane.stop();
  await output.stop();
  const after = tried.length;
  await afterFirstRetry();
  await afterFirstRetry();
  assert.equal(tried.length, after, 'nothing tried after the stop');
});

test('the same value again is no change: one touch, one event', async (t) => {
  const { output, touches, events } = lock(t, () => false, 'relock', { announceReadback: true });
  output.observe({ unlock: false }, performance.now());
  output.observe({ unlock: false }, performance.now());
  await output.set(false);
  assert.equal(touches(), 1);
  assert.deepEqual(events, []);
});

test('on_start offers off, on and leave; the stop writes with its reason', async (t) => {
  const piece = pulsedOutput({ output: 'o', onStart: { off: 'lock', on: 'unlock', doc: 'd' } });
  assert.deepEqual(piece.settings?.on_start, { type: 'enum', values: ['lock', 'unlock', 'leave'], default: 'lock' });
  const { output, ctx, logs } = lock(t, () => false);
  await output.pulse(60_000, signal());
  ctx.lane.stop();
  await output.stop();
  assert.deepEqual(infos(logs).at(-1), 'test locked (gateway stopping)');
});
