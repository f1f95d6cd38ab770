// Times and durations as the CLI prints them: local clock time, with the date only when not today.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { clockTime, formatDuration } from '../../src/cli/time-format.js';

test('clockTime: HH:MM:SS on the same day, the date before it on another day', () => {
  const at = new Date(2026, 10, 23, 9, 4, 5).getTime();
  assert.equal(clockTime(at, new Date(2026, 10, 23, 23, 59, 0).getTime()), '09:04:05');
  assert.equal(clockTime(at, new Date(2026, 10, 24, 0, 0, 1).getTime()), '2026-11-23 09:04:05');
});

test('formatDuration: seconds, minutes, hours, days', () => {
  assert.equal(formatDuration(0), '0s');
  assert.equal(formatDuration(59.4), '59s');
  assert.equal(formatDuration(192), '3m 12s');
  assert.equal(formatDuration(2 * 3600 + 14 * 60 + 9), '2h 14m');
  assert.equal(formatDuration(3 * 86_400 + 4 * 3600), '3d 4h');
  assert.equal(formatDuration(-5), '0s');
});
