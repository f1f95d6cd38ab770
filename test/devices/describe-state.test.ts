// A device's last state in a few words: one line per device in `gatehouse status`, the summary on the console. The states are
// the shapes the kinds publish (src/devices/kinds/*.ts snapshot()).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { describeDeviceState } from '../../src/devices/describe-state.js';
import { clockTime } from '../../src/cli/time-format.js';

const NOW = new Date(2026, 10, 23, 10, 0, 0).getTime();
const LATER = NOW + 65_000;

test('gate: lock (with the relock time of a pulse) and door', () => {
  assert.equal(describeDeviceState('gate', { lock: 'locked', door: 'closed', unlocked_until: null, updated_at: NOW }, NOW), 'locked, door closed');
  assert.equal(describeDeviceState('gate', { lock: 'unlocked', door: 'open', unlocked_until: LATER, updated_at: NOW }, NOW), `unlocked until ${clockTime(LATER, NOW)}, door open`);
  assert.equal(clockTime(LATER, NOW), '10:01:05');
  assert.equal(describeDeviceState('gate', { lock: 'unlocked', door: 'closed', unlocked_until: null }, NOW), 'unlocked, door closed');
  assert.equal(describeDeviceState('gate', { lock: 'unknown', door: 'unknown', unlocked_until: null }, NOW), 'lock unknown, door unknown');
});

test('turnstile: mode and both passage counters', () => {
  assert.equal(describeDeviceState('turnstile', { mode: 'locked', passages_in: 12, passages_out: 3 }, NOW), 'locked, passages in 12, out 3');
  assert.equal(describeDeviceState('turnstile', { mode: 'free', passages_in: 0, passages_out: 0 }, NOW), 'free passage, passages in 0, out 0');
  assert.equal(describeDeviceState('turnstile', { mode: 'unknown', passages_in: null, passages_out: null }, NOW), 'mode unknown, passages in ?, out ?');
});

test('barrier: arm position and the safety loop', () => {
  assert.equal(describeDeviceState('barrier', { position: 'open', vehicle_present: true, updated_at: NOW }, NOW), 'open, vehicle present');
  assert.equal(describeDeviceState('barrier', { position: 'closed', vehicle_present: false }, NOW), 'closed, no vehicle');
  assert.equal(describeDeviceState('barrier', { position: 'unknown', vehicle_present: null }, NOW), 'arm unknown, loop unknown');
});

test('camera: last snapshot, a move under way, the preset', () => {
  assert.equal(describeDeviceState('camera', { model: 'TC-2', moving: false, moving_until: null, preset: null, last_snapshot_at: null }, NOW), 'no snapshot yet');
  assert.equal(
    describeDeviceState('camera', { moving: true, moving_until: LATER, preset: { token: '1', name: 'Gate entrance' }, last_snapshot_at: NOW - 1000 }, NOW),
    `last snapshot 09:59:59, moving until 10:01:05, preset "Gate entrance" (1)`,
  );
  assert.equal(describeDeviceState('camera', { moving: false, preset: { token: '2', name: '2' }, last_snapshot_at: NOW }, NOW), 'last snapshot 10:00:00, preset 2');
});

test('another kind: its scalar fields but the timestamp; an unreadable state: the error', () => {
  assert.equal(describeDeviceState('elevator', { position: 'up', loop_occupied: false, updated_at: NOW, extra: { a: 1 } }, NOW), 'position up, loop_occupied false');
  assert.equal(describeDeviceState('gate', { error: 'state unavailable: driver gone' }, NOW), 'state unavailable: driver gone');
  assert.ok(describeDeviceState('elevator', { note: 'x'.repeat(200) }, NOW).length <= 80);
});
