// The barrier kind against the behaviour harness: the arm never comes down while the loop is
// occupied (close command, end of an open, safe state on start, stop), obstructed once a close has
// waited obstructed_after_ms, vehicle_passed when the loop clears with the arm up.
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { describe, it } from 'node:test';
import { loadConfig, parseConfigDocument } from '../../src/config.js';
import { readFileSync } from 'node:fs';
import { barrierKind } from '../../src/devices/kinds/barrier.js';
import { sleep, until } from '../support/wait.js';
import { harness } from './behaviour-harness.js';

const noSignal = new AbortController().signal;
const later = () => performance.now() + 1;
/** The smallest the settings allow, so the waits here stay short. */
const QUICK = { open_ms: 1000, obstructed_after_ms: 1000 };

/** A barrier made safe with the loop as given, read on demand. */
async function started(loop: boolean, settings: Record<string, unknown> = {}) {
  const h = harness(barrierKind, { ...QUICK, ...settings }, { inputs: () => ({ loop }) });
  await h.behaviour.applySafeState();
  return h;
}

const writes = (h: ReturnType<typeof harness>) => h.writes.map((w) => [w.output, w.on]);

describe('barrier behaviour', () => {
  it('safe state: close, open or leave, reading the loop first', async () => {
    const closed = await started(false);
    assert.deepEqual(writes(closed), [['open', false]]);
    assert.equal(closed.behaviour.snapshot().position, 'closed', 'without limit switches the position is what was driven');
    assert.equal(closed.behaviour.snapshot().vehicle_present, false);
    const open = await started(false, { on_start: 'open' });
    assert.deepEqual(writes(open), [['open', true]]);
    assert.equal(open.behaviour.snapshot().position, 'open');
    const left = await started(false, { on_start: 'leave' });
    assert.deepEqual(writes(left), []);
    assert.equal(left.behaviour.snapshot().position, 'unknown');
    for (const h of [closed, open, left]) await h.behaviour.stop();
  });

  it('safe state close with a vehicle on the loop: the arm stays up, obstructed, then it closes once the loop clears', async () => {
    const h = await started(true);
    assert.deepEqual(writes(h), [], 'nothing lowered onto the vehicle');
    h.behaviour.observe({ loop: true, open: true }, later());
    assert.equal(h.behaviour.snapshot().position, 'open');
    await until('obstructed', () => h.eventTypes().includes('obstructed'));
    assert.deepEqual(writes(h), []);
    assert.ok((h.events.find((e) => e.type === 'obstructed')!.details!.waited_ms as number) >= 0);
    h.behaviour.observe({ loop: false, open: true }, later());
    await until('the close', () => h.writes.length === 1);
    assert.deepEqual(writes(h), [['open', false]]);
    assert.deepEqual(h.eventTypes(), ['obstructed', 'vehicle_passed']);
    assert.equal(h.behaviour.snapshot().position, 'closed');
    await h.behaviour.stop();
  });

  it('without a way to read on demand, the safe close waits for the first reading of the loop', async () => {
    const h = harness(barrierKind, QUICK);
    await h.behaviour.applySafeState();
    assert.deepEqual(writes(h), []);
    h.behaviour.observe({ loop: false }, later());
    await until('the close', () => h.writes.length === 1);
    assert.deepEqual(writes(h), [['open', false]]);
    assert.deepEqual(h.eventTypes(), [], 'a first reading is no passage');
    await h.behaviour.stop();
  });

  it('open raises the arm and lowers it after duration_ms', async () => {
    const h = await started(false);
    const t0 = Date.now();
    const data = await h.behaviour.run('open', { duration_ms: 1000 }, noSignal);
    assert.ok((data.auto_close_at as number) >= t0 + 1000);
    assert.equal(h.behaviour.snapshot().position, 'open');
    await until('the automatic close', () => h.writes.length === 3);
    assert.deepEqual(writes(h), [['open', false], ['open', true], ['open', false]]);
    assert.ok(h.writes[2].at >= (data.auto_close_at as number) - 5, 'not before the open ends');
    assert.deepEqual(h.eventTypes(), []);
    await h.behaviour.stop();
  });

  it('open without duration_ms stays up for open_ms', async () => {
    const h = await started(false, { open_ms: 1500 });
    const t0 = Date.now();
    const data = await h.behaviour.run('open', {}, noSignal);
    assert.ok((data.auto_close_at as number) >= t0 + 1500);
    await h.behaviour.stop();
  });

  it('the automatic close waits while a vehicle is on the loop, says obstructed, and closes after it passed', async () => {
    const h = await started(false);
    await h.behaviour.run('open', { duration_ms: 1000 }, noSignal);
    h.behaviour.observe({ loop: true }, later());
    assert.equal(h.behaviour.snapshot().vehicle_present, true);
    await until('obstructed', () => h.eventTypes().includes('obstructed'), 8000);
    assert.deepEqual(writes(h), [['open', false], ['open', true]], 'the arm did not come down on the vehicle');
    h.behaviour.observe({ loop: false }, later());
    await until('the close', () => h.writes.length === 3);
    assert.deepEqual(writes(h).at(-1), ['open', false]);
    assert.deepEqual(h.eventTypes(), ['obstructed', 'vehicle_passed']);
    assert.ok((h.events[1].details!.occupied_ms as number) >= 0);
    await h.behaviour.stop();
  });

  it('close waits for the loop to clear; with the loop clear it closes at once', async () => {
    const h = await started(false);
    await h.behaviour.run('open', { duration_ms: 60_000 }, noSignal);
    h.behaviour.observe({ loop: true }, later());
    assert.deepEqual(await h.behaviour.run('close', {}, noSignal), { waiting_for_vehicle: true });
    assert.deepEqual(writes(h), [['open', false], ['open', true]]);
    h.behaviour.observe({ loop: false }, later());
    await until('the close', () => h.writes.length === 3);
    assert.deepEqual(h.eventTypes(), ['vehicle_passed'], 'no obstructed: the wait was short');

    await h.behaviour.run('open', { duration_ms: 60_000 }, noSignal);
    assert.deepEqual(await h.behaviour.run('close', {}, noSignal), { waiting_for_vehicle: false });
    assert.deepEqual(writes(h).slice(3), [['open', true], ['open', false]]);
    await h.behaviour.stop();
  });

  it('an open while a close waits cancels the wait: no obstructed, and the arm stays up for the new open', async () => {
    const h = await started(false);
    await h.behaviour.run('open', { duration_ms: 60_000 }, noSignal);
    h.behaviour.observe({ loop: true }, later());
    await h.behaviour.run('close', {}, noSignal);
    await h.behaviour.run('open', { duration_ms: 60_000 }, noSignal);
    h.behaviour.observe({ loop: false }, later());
    await sleep(1200); // past obstructed_after_ms: an obstructed timer left running would have fired
    assert.deepEqual(h.eventTypes(), ['vehicle_passed']);
    assert.deepEqual(writes(h), [['open', false], ['open', true], ['open', true]], 'no close after the loop cleared');
    await h.behaviour.stop();
  });

  it('a vehicle leaving the loop with the arm down is no passage', async () => {
    const h = await started(false);
    h.behaviour.observe({ loop: true }, later());
    h.behaviour.observe({ loop: false }, later());
    assert.deepEqual(h.eventTypes(), []);
    await h.behaviour.stop();
  });

  it('a stop lowers an open arm only when the loop is clear', async () => {
    const clear = await started(false);
    await clear.behaviour.run('open', { duration_ms: 60_000 }, noSignal);
    await clear.behaviour.stop();
    assert.deepEqual(writes(clear), [['open', false], ['open', true], ['open', false]]);
    const occupied = await started(false);
    await occupied.behaviour.run('open', { duration_ms: 60_000 }, noSignal);
    occupied.behaviour.observe({ loop: true }, later());
    await occupied.behaviour.stop();
    assert.deepEqual(writes(occupied), [['open', false], ['open', true]], 'left up over the vehicle');
  });

  it('takes its position from the limit switches when it has them', async () => {
    const h = await started(false);
    h.behaviour.observe({ arm_open: false, arm_closed: true }, later());
    assert.equal(h.behaviour.snapshot().position, 'closed');
    await h.behaviour.run('open', { duration_ms: 60_000 }, noSignal);
    h.behaviour.observe({ arm_open: false, arm_closed: false }, later());
    assert.equal(h.behaviour.snapshot().position, 'moving', 'written open, not there yet');
    h.behaviour.observe({ arm_open: true, arm_closed: false }, later());
    assert.equal(h.behaviour.snapshot().position, 'open');
    assert.deepEqual(Object.keys(h.behaviour.snapshot()), ['position', 'vehicle_present', 'updated_at']);
    await h.behaviour.stop();
  });

  it('duration_ms is limited by max_open_ms; open_ms may not exceed max_open_ms', () => {
    const settings = { on_start: 'close', open_ms: 20_000, max_open_ms: 30_000, obstructed_after_ms: 60_000 };
    const spec = barrierKind.commands.open.args;
    assert.equal(typeof spec === 'function' && spec(settings).duration_ms.type === 'int' && (spec(settings).duration_ms as { max: number }).max, 30_000);
    assert.deepEqual(barrierKind.check(settings), []);
    assert.deepEqual(barrierKind.check({ ...settings, open_ms: 40_000 }), [{ key: 'open_ms', message: 'must not exceed max_open_ms (30000)' }]);
  });

  it('a config with open_ms above max_open_ms is refused, naming the device and key', () => {
    const document = parseConfigDocument(readFileSync('config/demo.yaml', 'utf8'), 'demo.yaml') as { devices: Record<string, unknown>[] };
    const barrier = document.devices.find((d) => d.kind === 'barrier')!;
    barrier.max_open_ms = 5000;
    const loaded = loadConfig({ document, env: {} });
    assert.equal(loaded.ok, false);
    assert.deepEqual(!loaded.ok && loaded.issues, [{ path: `devices[${barrier.id}].open_ms`, message: 'must not exceed max_open_ms (5000)' }]);
  });
});
