// A turnstile's pass outputs alone: one pulse each, whose end survives a failed write and a stop.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { momentaryOutputs } from '../../../src/devices/capabilities/momentary-outputs.js';
import { pieceContext } from './piece-context.js';

const piece = momentaryOutputs({ outputs: ['pass_in', 'pass_out'], setting: { name: 'pulse_ms', spec: { type: 'int', min: 10, max: 5000, default: 500 } } });

test('a pulse whose end-write fails is logged, naming the output, and ended by a second write', async () => {
  let endFailures = 1;
  const pc = pieceContext({ pulse_ms: 10 }, { failWrite: (_output, on) => !on && endFailures-- > 0 });
  const outputs = piece.create(pc.ctx, undefined as never);
  await outputs.pulse('pass_in', new AbortController().signal);
  assert.deepEqual(pc.tried, [
    { output: 'pass_in', on: true },
    { output: 'pass_in', on: false },
    { output: 'pass_in', on: false },
  ]);
  assert.deepEqual(pc.writes.at(-1), { output: 'pass_in', on: false });
  const warned = pc.logs.filter((l) => l.level === 'warn');
  assert.deepEqual(warned.map((l) => l.msg), ['ending the pulse failed; retrying']);
  assert.equal((warned[0].obj as { output: string }).output, 'pass_in');
});

test('a stop waits for the pulse under way to end', async () => {
  const pc = pieceContext({ pulse_ms: 50 });
  const outputs = piece.create(pc.ctx, undefined as never);
  const pulse = outputs.pulse('pass_out', new AbortController().signal);
  await outputs.stop!();
  assert.deepEqual(pc.writes, [
    { output: 'pass_out', on: true },
    { output: 'pass_out', on: false },
  ], 'the end of the pulse was written before the stop returned');
  await pulse;
});

test('every output rests off at start, and the piece says so for each', async () => {
  const pc = pieceContext({ pulse_ms: 10 });
  await piece.create(pc.ctx, undefined as never).applySafeState!();
  assert.deepEqual(pc.writes, [
    { output: 'pass_in', on: false },
    { output: 'pass_out', on: false },
  ]);
  assert.deepEqual(Object.keys(piece.safeState ?? {}), ['pass_in', 'pass_out']);
  assert.deepEqual(piece.settings, { pulse_ms: { type: 'int', min: 10, max: 5000, default: 500 } });
});
