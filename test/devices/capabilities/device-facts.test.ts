// What a device says about itself (the camera's facts piece) against a recorded `info` action:
// asked before the device goes online and again for each new driver session, published only when
// it changed; the clock offset republished only when it moved by 2 s or more.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { deviceFacts } from '../../../src/devices/capabilities/device-facts.js';
import type { ActionOutcome } from '../../../src/driver-api.js';
import { pieceContext } from './piece-context.js';

function piece(answers: (() => ActionOutcome | Promise<ActionOutcome>)[]) {
  const pc = pieceContext();
  const asked: string[] = [];
  let next = 0;
  const actions = {
    perform: async (action: string) => {
      asked.push(action);
      return answers[Math.min(next++, answers.length - 1)]();
    },
  };
  const runtime = deviceFacts({ model: 'As the camera says.' }).create({ ...pc.ctx, kind: 'camera', actions }, undefined as never);
  return { ...pc, asked, runtime };
}

const info = (data: Record<string, unknown>) => () => ({ data });
const turn = () => new Promise((resolve) => setImmediate(resolve));

test('the facts of the info action, without its session and clock offset; the offset as a field of its own', async () => {
  const { runtime, asked, touches } = piece([info({ model: 'TC-2', session: 1, clock_offset_ms: 1200 })]);
  assert.deepEqual(runtime.state!(), { clock_offset_ms: null }, 'nothing until it answered');
  await runtime.applySafeState!();
  assert.deepEqual(asked, ['info']);
  assert.deepEqual(runtime.state!(), { model: 'TC-2', clock_offset_ms: 1200 });
  assert.equal(touches(), 1);
});

test('an answer without a clock offset leaves it null; the same facts again are no change', async () => {
  const { runtime, touches } = piece([info({ model: 'TC-2' })]);
  await runtime.applySafeState!();
  assert.strictEqual(runtime.state!().clock_offset_ms, null);
  await runtime.applySafeState!();
  assert.equal(touches(), 1, 'the same facts: no touch');
});

test('a new driver session asks again; the same session, or none, does not', async () => {
  const { runtime, asked, touches } = piece([info({ model: 'TC-2', session: 7 }), info({ model: 'TC-2 v2', session: 8 })]);
  await runtime.applySafeState!();
  runtime.observe!({ session: 7 });
  runtime.observe!({});
  runtime.observe!({ session: '8' as never });
  await turn();
  assert.deepEqual(asked, ['info'], 'session 7 is the one the facts came from');
  runtime.observe!({ session: 8 });
  await turn();
  assert.deepEqual(asked, ['info', 'info']);
  assert.equal(runtime.state!().model, 'TC-2 v2');
  assert.equal(touches(), 2);
});

test('an answer without a session: the next session a poll reports asks again', async () => {
  const { runtime, asked } = piece([info({ model: 'TC-2', session: 'x' })]);
  await runtime.applySafeState!();
  runtime.observe!({ session: 1 });
  await turn();
  assert.deepEqual(asked, ['info', 'info']);
});

test('a refresh that fails is logged as a warning with the error, and the facts stay', async () => {
  const refused = new Error('the camera refused GetDeviceInformation');
  const { runtime, logs } = piece([info({ model: 'TC-2', session: 1 }), () => Promise.reject(refused)]);
  await runtime.applySafeState!();
  runtime.observe!({ session: 2 });
  await turn();
  assert.deepEqual(logs, [{ level: 'warn', msg: 'camera facts not refreshed', obj: { err: refused } }]);
  assert.equal(runtime.state!().model, 'TC-2');
});

test('the clock offset a poll reports is news from the first value, then only when it moved by 2 s or more, either way', () => {
  const { runtime, touches } = piece([info({})]);
  const offsets: [unknown, boolean][] = [
    [1000, true], // the first value
    [2999, false], // moved 1999 ms
    [3000, true], // moved 2000 ms
    [1500, false], // back by 1500 ms (as a sum it would be 4500)
    [1000, true], // back by 2000 ms
    ['5000', false], // not a number
  ];
  let expected = 0;
  for (const [offset, news] of offsets) {
    runtime.observe!(offset === undefined ? {} : { clock_offset_ms: offset as number });
    if (news) expected++;
    assert.equal(touches(), expected, `offset ${offset}`);
  }
  assert.equal(runtime.state!().clock_offset_ms, 1000);
  runtime.observe!({});
  assert.equal(touches(), expected);
});
