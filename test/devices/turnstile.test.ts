import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { describe, it } from 'node:test';
import { turnstileKind } from '../../src/devices/kinds/turnstile.js';
import { parseFields } from '../../src/config/fields.js';
import { sleep } from '../support/wait.js';
import { harness } from './behaviour-harness.js';

const noSignal = new AbortController().signal;
const later = () => performance.now() + 1;

describe('turnstile behaviour', () => {
  it('pass needs a direction, "in" or "out"; free passage has its safe state documented', () => {
    const pass = turnstileKind.commands.pass;
    const spec = typeof pass.args === 'function' ? pass.args({}) : pass.args;
    assert.deepEqual(pass.required, ['direction']);
    assert.deepEqual(parseFields({ direction: 'in' }, spec, pass.required).problems, []);
    assert.deepEqual(parseFields({ direction: 'out' }, spec, pass.required).problems, []);
    assert.equal(parseFields({ direction: 'up' }, spec, pass.required).problems.length, 1);
    assert.equal(parseFields({}, spec, pass.required).problems.length, 1);
    assert.ok(turnstileKind.safeState.free.startsWith('on_start:'), turnstileKind.safeState.free);
  });

  it('rests both passage outputs and applies the safe mode on start', async () => {
    const h = harness(turnstileKind, { on_start: 'lock' });
    await h.behaviour.applySafeState();
    assert.deepEqual(h.writes.map((w) => [w.output, w.on]), [['pass_in', false], ['pass_out', false], ['free', false]]);
    assert.equal(h.behaviour.snapshot().mode, 'locked');
    const leave = harness(turnstileKind, { on_start: 'leave' });
    await leave.behaviour.applySafeState();
    assert.deepEqual(leave.writes.map((w) => w.output), ['pass_in', 'pass_out'], 'leave still rests the pulse outputs');
  });

  it('pass pulses the matching output once for pulse_ms', async () => {
    const h = harness(turnstileKind, { pulse_ms: 80 });
    const data = await h.behaviour.run('pass', { direction: 'out' }, noSignal);
    assert.deepEqual(data, { direction: 'out' });
    assert.deepEqual(h.writes.map((w) => [w.output, w.on]), [['pass_out', true], ['pass_out', false]]);
    assert.ok(h.writes[1].at - h.writes[0].at >= 75);
  });

  it('the pulse ends even when its first end-write fails', async () => {
    const h = harness(turnstileKind, { pulse_ms: 50 });
    const run = h.behaviour.run('pass', { direction: 'in' }, noSignal);
    await sleep(10);
    h.failNextWrites(1);
    await run;
    assert.deepEqual(h.writes.map((w) => [w.output, w.on]), [['pass_in', true], ['pass_in', false]]);
  });

  it('unlock and lock switch free-passage mode with events', async () => {
    const h = harness(turnstileKind);
    await h.behaviour.applySafeState();
    await h.behaviour.run('unlock', {}, noSignal);
    await h.behaviour.run('lock', {}, noSignal);
    assert.deepEqual(h.writes.slice(3).map((w) => [w.output, w.on]), [['free', true], ['free', false]]);
    assert.deepEqual(h.eventTypes(), ['unlocked', 'locked']);
  });

  it('stop locks a fail-secure turnstile left in free passage, and leaves the others as they are', async () => {
    const secure = harness(turnstileKind, { on_start: 'lock' });
    await secure.behaviour.applySafeState();
    await secure.behaviour.run('unlock', {}, noSignal);
    await secure.behaviour.stop();
    assert.deepEqual(secure.writes.slice(3).map((w) => [w.output, w.on]), [['free', true], ['free', false]]);
    assert.equal(secure.behaviour.snapshot().mode, 'locked');
    const egress = harness(turnstileKind, { on_start: 'unlock' });
    await egress.behaviour.applySafeState();
    await egress.behaviour.stop();
    assert.deepEqual(egress.writes.slice(2).map((w) => [w.output, w.on]), [['free', true]], 'a fail-safe turnstile stays free');
  });

  it('turns counter increases into passage events, across the 16-bit wrap', () => {
    const h = harness(turnstileKind);
    h.behaviour.observe({ passages_in: 65_534, passages_out: 7 }, later());
    assert.deepEqual(h.events, [], 'the first reading only sets the counters');
    h.behaviour.observe({ passages_in: 1, passages_out: 7 }, later());
    h.behaviour.observe({ passages_in: 1, passages_out: 9 }, later());
    assert.deepEqual(h.events, [
      { type: 'passage', details: { direction: 'in', count: 3, total: 1 } },
      { type: 'passage', details: { direction: 'out', count: 2, total: 9 } },
    ]);
    assert.deepEqual({ ...h.behaviour.snapshot(), updated_at: 0 }, { mode: 'unknown', passages_in: 1, passages_out: 9, updated_at: 0 });
  });

  it('resynchronises silently after an implausible counter jump (controller reset)', () => {
    const h = harness(turnstileKind);
    h.behaviour.observe({ passages_in: 5000 }, later());
    h.behaviour.observe({ passages_in: 3 }, later());
    assert.deepEqual(h.events, []);
    assert.equal(h.behaviour.snapshot().passages_in, 3);
  });

  it('a pass whose first write failed still turns the output off', async () => {
    const h = harness(turnstileKind, { pulse_ms: 50 });
    h.failNextWrites(1);
    await assert.rejects(h.behaviour.run('pass', { direction: 'in' }, noSignal), /failed/);
    assert.deepEqual(h.writes.map((w) => [w.output, w.on]), [['pass_in', false]]);
  });
});

