import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { describe, it } from 'node:test';
import { DeviceError } from '../../src/driver-api.js';
import { gateKind } from '../../src/devices/kinds/gate.js';
import { sleep, until } from '../support/wait.js';
import { harness } from './behaviour-harness.js';

const noSignal = new AbortController().signal;
const later = () => performance.now() + 1;

/**
 * Ends an absence check: once `after` (epoch ms) has passed, a short unlock and its relock. A
 * write still due from before (a relock timer, a retry) was due earlier, so it lands before these two.
 */
async function sentinelPulse(h: ReturnType<typeof harness>, after: number): Promise<void> {
  // The margin puts the last wait's timer after any timer due at `after`: Node runs due timers in order.
  await until('the time to pass', () => Date.now() > after + 20);
  const from = h.writes.length;
  await h.behaviour.run('unlock', { duration_ms: 20 }, noSignal);
  await until('the sentinel relock', () => h.writes.slice(from).some((w) => !w.on));
}

describe('gate behaviour', () => {
  it('a lock seen released or engaged only in the readback is announced; the state is in its order', () => {
    const h = harness(gateKind);
    h.behaviour.observe({ unlock: false, door: false }, later());
    h.behaviour.observe({ unlock: true, door: false }, later());
    h.behaviour.observe({ unlock: false, door: false }, later());
    assert.deepEqual(h.eventTypes(), ['unlocked', 'locked']);
    assert.deepEqual(Object.keys(h.behaviour.snapshot()), ['lock', 'door', 'unlocked_until', 'updated_at']);
    assert.deepEqual(Object.keys(gateKind.settings).filter((k) => k.endsWith('unlock_ms')), ['unlock_ms', 'max_unlock_ms']);
  });

  it('applies each safe state on start', async () => {
    const cases = [
      ['lock', [false], 'locked', []],
      ['unlock', [true], 'unlocked', ['unlocked']],
      ['leave', [], 'unknown', []],
    ] as const;
    for (const [on_start, writes, lock, events] of cases) {
      const h = harness(gateKind, { on_start });
      await h.behaviour.applySafeState();
      assert.deepEqual(h.writes.map((w) => w.on), writes, on_start);
      assert.equal(h.behaviour.snapshot().lock, lock, on_start);
      assert.deepEqual(h.eventTypes(), events, 'a door left released on start is announced; a locked one is the quiet default');
    }
  });

  it('pulses: unlock, then relock after duration_ms, with events and state', async () => {
    const h = harness(gateKind);
    await h.behaviour.applySafeState();
    const t0 = Date.now();
    const data = await h.behaviour.run('unlock', { duration_ms: 120 }, noSignal);
    assert.ok((data.unlocked_until as number) >= t0 + 120);
    assert.equal(h.behaviour.snapshot().lock, 'unlocked');
    await until('three writes', () => h.writes.length === 3);
    assert.deepEqual(h.writes.map((w) => w.on), [false, true, false]);
    assert.ok(h.writes[2].at - h.writes[1].at >= 110, 'relock not before the pulse ends');
    assert.deepEqual(h.eventTypes(), ['unlocked', 'locked']);
    assert.equal(h.behaviour.snapshot().lock, 'locked');
    assert.equal(h.behaviour.snapshot().unlocked_until, null);
  });

  it('unlock while unlocked extends the pulse; it never shortens it', async () => {
    const h = harness(gateKind);
    await h.behaviour.applySafeState();
    const first = await h.behaviour.run('unlock', { duration_ms: 1000 }, noSignal);
    // The same length a moment later ends later; the wait is for the clock to move, not for an order.
    await until('the clock to move on', () => Date.now() >= (first.unlocked_until as number) - 1000 + 20);
    assert.equal(h.writes.filter((w) => !w.on).length, 1, 'the first pulse is still running');
    const second = await h.behaviour.run('unlock', { duration_ms: 1000 }, noSignal);
    assert.ok((second.unlocked_until as number) > (first.unlocked_until as number), 'extended');
    const shorter = await h.behaviour.run('unlock', { duration_ms: 100 }, noSignal);
    assert.equal(shorter.unlocked_until, second.unlocked_until);
    await until('the first pulse end to pass', () => Date.now() > (first.unlocked_until as number) + 5);
    assert.equal(h.writes.filter((w) => !w.on).length, 1, 'no relock at the first pulse end');
    await until('two switch-offs', () => h.writes.filter((w) => !w.on).length === 2);
    assert.ok(h.writes.at(-1)!.at >= (second.unlocked_until as number) - 5);
  });

  it('lock ends a pulse at once and no relock follows', async () => {
    const h = harness(gateKind);
    await h.behaviour.applySafeState();
    const pulse = await h.behaviour.run('unlock', { duration_ms: 100 }, noSignal);
    await h.behaviour.run('lock', {}, noSignal);
    assert.deepEqual(h.writes.map((w) => w.on), [false, true, false]);
    await sentinelPulse(h, pulse.unlocked_until as number);
    assert.deepEqual(h.writes.map((w) => w.on), [false, true, false, true, false], 'only the sentinel pulse after the lock');
  });

  it('keeps retrying the relock until the output is off', async () => {
    const h = harness(gateKind);
    await h.behaviour.applySafeState();
    await h.behaviour.run('unlock', { duration_ms: 100 }, noSignal);
    h.failNextWrites(2);
    await until('three writes', () => h.writes.length === 3);
    assert.equal(h.writes[2].on, false);
    assert.equal(h.behaviour.snapshot().lock, 'locked');
  });

  it('a failed lock command still ends up locked', async () => {
    const h = harness(gateKind);
    await h.behaviour.applySafeState();
    await h.behaviour.run('unlock', { duration_ms: 60_000 }, noSignal);
    h.failNextWrites(1);
    await assert.rejects(h.behaviour.run('lock', {}, noSignal), /failed/);
    await until('three writes', () => h.writes.length === 3);
    assert.equal(h.writes[2].on, false);
  });

  it('stopping mid-pulse relocks', async () => {
    const h = harness(gateKind);
    await h.behaviour.applySafeState();
    await h.behaviour.run('unlock', { duration_ms: 60_000 }, noSignal);
    await h.behaviour.stop();
    assert.deepEqual(h.writes.map((w) => w.on), [false, true, false]);
  });

  it('door model: opened and closed while unlocked; forced while locked', async () => {
    const h = harness(gateKind, { relock_grace_ms: 0 });
    await h.behaviour.applySafeState();
    h.behaviour.observe({ door: false }, later());
    assert.deepEqual(h.events, [], 'the first reading sets the state without an event');
    await h.behaviour.run('unlock', { duration_ms: 60_000 }, noSignal);
    h.behaviour.observe({ door: true }, later());
    h.behaviour.observe({ door: false }, later());
    await h.behaviour.run('lock', {}, noSignal);
    await sleep(5);
    h.behaviour.observe({ door: true }, later());
    assert.deepEqual(h.eventTypes(), ['unlocked', 'door_opened', 'door_closed', 'locked', 'door_forced']);
    assert.equal(h.behaviour.snapshot().door, 'open');
    await h.behaviour.stop();
  });

  it('an opening right after the relock is within the grace, not forced', async () => {
    const h = harness(gateKind, { relock_grace_ms: 5000 });
    await h.behaviour.applySafeState();
    h.behaviour.observe({ door: false }, later());
    h.behaviour.observe({ door: true }, later());
    assert.deepEqual(h.eventTypes(), ['door_opened']);
    await h.behaviour.stop();
  });

  it('reports a door held open once per opening', async () => {
    const h = harness(gateKind, { held_open_ms: 1000 });
    h.behaviour.observe({ door: false }, later());
    h.behaviour.observe({ door: true }, later());
    await until('door_held_open', () => h.eventTypes().includes('door_held_open'));
    const held = h.events.find((e) => e.type === 'door_held_open')!;
    assert.ok((held.details!.open_ms as number) >= 990);
    h.behaviour.observe({ door: false }, later());
    assert.equal(h.eventTypes().filter((t) => t === 'door_held_open').length, 1);
    await h.behaviour.stop();
  });

  it('takes the readback as the truth, but not one taken before its own last write', async () => {
    const h = harness(gateKind);
    await h.behaviour.applySafeState();
    const before = performance.now();
    await h.behaviour.run('unlock', { duration_ms: 60_000 }, noSignal);
    h.behaviour.observe({ unlock: false }, before);
    assert.equal(h.behaviour.snapshot().lock, 'unlocked', 'a stale readback is ignored');
    h.behaviour.observe({ unlock: false }, later());
    assert.equal(h.behaviour.snapshot().lock, 'locked', 'someone locked it outside gatehouse');
    assert.equal(h.behaviour.snapshot().unlocked_until, null);
    await h.behaviour.stop();
    assert.equal(h.writes.length, 2, 'no relock needed once the hardware says locked');
  });

  it('an unlock whose command timed out before its turn writes nothing and arms no pulse', async () => {
    const h = harness(gateKind);
    await h.behaviour.applySafeState();
    const controller = new AbortController();
    controller.abort();
    await assert.rejects(h.behaviour.run('unlock', { duration_ms: 100 }, controller.signal), /timed out before its write/);
    assert.equal(h.behaviour.snapshot().lock, 'locked');
    assert.equal(h.behaviour.snapshot().unlocked_until, null);
    await sentinelPulse(h, Date.now() + 100);
    assert.deepEqual(h.writes.map((w) => w.on), [false, true, false], 'the safe state, then only the sentinel pulse');
  });

  it('an unlock whose write failed (the reply may be lost) is followed by a relock', async () => {
    const h = harness(gateKind);
    await h.behaviour.applySafeState();
    h.failNextWrites(1);
    await assert.rejects(h.behaviour.run('unlock', { duration_ms: 60_000 }, noSignal), /failed/);
    await until('two writes', () => h.writes.length === 2);
    assert.deepEqual(h.writes.map((w) => w.on), [false, false], 'relocked, not left to chance');
  });

  it('an unlock refused before it reached the device (notApplied) needs no relock', async () => {
    const h = harness(gateKind);
    await h.behaviour.applySafeState();
    const controller = new AbortController();
    controller.abort();
    await assert.rejects(h.behaviour.run('unlock', { duration_ms: 100 }, controller.signal), (e: DeviceError) => e.notApplied);
    // A relock retry would come after RETRY_MIN_MS; the sentinel's pulse ends later than that.
    await sentinelPulse(h, Date.now() + 400);
    assert.deepEqual(h.writes.map((w) => w.on), [false, true, false], 'only the safe state write, then the sentinel pulse');
  });

  it('refuses to release once stopped', async () => {
    const h = harness(gateKind);
    await h.behaviour.applySafeState();
    await h.behaviour.stop();
    await assert.rejects(h.behaviour.run('unlock', { duration_ms: 1000 }, noSignal), /stopping/);
    assert.deepEqual(h.writes.map((w) => w.on), [false]);
  });
});

