// The `events` a kind declares (what links may trigger on) are exactly the events its behaviour
// emits: every declared event is produced by some scenario here, and nothing else is.
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { test } from 'node:test';
import { gateKind } from '../../src/devices/kinds/gate.js';
import { turnstileKind } from '../../src/devices/kinds/turnstile.js';
import { harness } from '../devices/behaviour-harness.js';
import { sleep, until } from '../support/wait.js';

const noSignal = new AbortController().signal;
const later = () => performance.now() + 1;

test('gate: unlocked, locked, door_opened, door_closed, door_forced, door_held_open, and nothing else', async () => {
  const h = harness(gateKind, { held_open_ms: 1000, relock_grace_ms: 0 });
  await h.behaviour.applySafeState();
  h.behaviour.observe({ door: false }, later());
  await h.behaviour.run('unlock', { duration_ms: 5000 }, noSignal);
  h.behaviour.observe({ door: true }, later());
  h.behaviour.observe({ door: false }, later());
  await h.behaviour.run('lock', {}, noSignal);
  await sleep(5);
  h.behaviour.observe({ door: true }, later()); // opened while locked: forced
  await until('door_held_open', () => h.eventTypes().includes('door_held_open'));
  await h.behaviour.stop();
  const emitted = new Set(h.eventTypes());
  assert.deepEqual([...emitted].sort(), [...(gateKind.events ?? [])].sort());
});

test('turnstile: unlocked, locked, passage, and nothing else', async () => {
  const h = harness(turnstileKind, { pulse_ms: 100 });
  await h.behaviour.applySafeState();
  h.behaviour.observe({ passages_in: 0, passages_out: 0 }, later());
  await h.behaviour.run('unlock', {}, noSignal);
  await h.behaviour.run('lock', {}, noSignal);
  h.behaviour.observe({ passages_in: 1, passages_out: 0 }, later());
  await h.behaviour.stop();
  const emitted = new Set(h.eventTypes());
  assert.deepEqual([...emitted].sort(), [...(turnstileKind.events ?? [])].sort());
});
