// The bounded memory of recent device events and security refusals behind /status.json.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RecentActivity, RingBuffer } from '../../src/metrics/recent-activity.js';

test('a ring buffer keeps the newest items, oldest first, across several wrap-arounds', () => {
  const ring = new RingBuffer<number>(3);
  assert.deepEqual(ring.items(), []);
  ring.push(1);
  ring.push(2);
  assert.deepEqual(ring.items(), [1, 2]);
  for (let i = 3; i <= 10; i++) {
    ring.push(i);
    assert.deepEqual(ring.items(), [i - 2, i - 1, i], `after ${i}`);
  }
  assert.deepEqual(ring.items(), [8, 9, 10]);
});

test('a ring buffer refuses a capacity that is not a positive integer', () => {
  for (const capacity of [0, -1, 1.5, Number.NaN]) assert.throws(() => new RingBuffer(capacity), RangeError, String(capacity));
});

test('events and refusals are kept up to the capacity, with the time of arrival', () => {
  let clock = 1000;
  const recent = new RecentActivity(2, () => clock);
  recent.event('gate', 'main-gate', 'unlocked', {});
  recent.event('gate', 'main-gate', 'door_opened', {}, 900);
  recent.event('turnstile', 'lobby', 'passage', { direction: 'in', count: 1, total: 7 });
  assert.deepEqual(recent.events(), [
    { at: 900, kind: 'gate', device: 'main-gate', event: 'door_opened', details: {} },
    { at: 1000, kind: 'turnstile', device: 'lobby', event: 'passage', details: { direction: 'in', count: 1, total: 7 } },
  ]);
  clock = 2000;
  recent.refusal({ type: 'publish_denied', clientId: 'kiosk-1', username: 'guard', peer: '127.0.0.1:5000', protocol: 'mqtt+tcp', topic: 'site/dmeo/gate/main-gate/unlock', reason: 'acl' });
  recent.refusal({ type: 'auth_failed', clientId: 'c2', peer: '10.0.0.9:4000', reason: 'anonymous_disabled' });
  assert.deepEqual(recent.refusals(), [
    { at: 2000, type: 'publish_denied', client_id: 'kiosk-1', username: 'guard', peer: '127.0.0.1:5000', protocol: 'mqtt+tcp', topic: 'site/dmeo/gate/main-gate/unlock', reason: 'acl' },
    { at: 2000, type: 'auth_failed', client_id: 'c2', peer: '10.0.0.9:4000', reason: 'anonymous_disabled' },
  ]);
  assert.equal(recent.events().length, 2, 'refusals do not push events out');
});

test('large event details are cut down to their short scalar fields; the stored copy is not the caller\'s object', () => {
  const recent = new RecentActivity();
  const details: Record<string, unknown> = { bytes: 5, file: 'snapshots/x.jpg', blob: 'x'.repeat(5000), nested: { a: 1 }, ok: true };
  recent.event('camera', 'cam', 'snapshot', details);
  assert.deepEqual(recent.events()[0].details, { bytes: 5, file: 'snapshots/x.jpg', ok: true });
  const small = { open_ms: 12000 };
  recent.event('gate', 'g', 'door_held_open', small);
  small.open_ms = 1;
  assert.deepEqual(recent.events()[1].details, { open_ms: 12000 });
});
