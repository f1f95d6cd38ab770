// The pulsed output alone (a gate's lock, a barrier's arm): what happens when its switch-off fails.
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { pulsedOutput } from '../../../src/devices/capabilities/pulsed-output.js';
import { until } from '../../support/wait.js';
import { pieceContext } from './piece-context.js';

function lock(t: TestContext, failOff: () => boolean, offAction: string | null = 'relock') {
  const piece = pulsedOutput({
    output: 'unlock',
    onStart: { off: 'lock', on: 'unlock', doc: 'locked on start' },
    field: { name: 'lock', off: 'locked', on: 'unlocked', doc: 'the lock' },
    pulse: { setting: 'unlock_ms', maxSetting: 'max_unlock_ms', min: 10, max: 60_000, default: 5000, maxDefault: 60_000 },
    ...(offAction ? { offAction } : {}),
  });
  const pc = pieceContext({ on_start: 'lock', unlock_ms: 5000, max_unlock_ms: 60_000 }, { failWrite: (_output, on) => !on && failOff() });
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
