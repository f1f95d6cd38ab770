// The door contact alone: forced, opened, closed and held open, at their edges.
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { contactInput } from '../../../src/devices/capabilities/contact-input.js';
import { until } from '../../support/wait.js';
import { pieceContext } from './piece-context.js';

const GRACE_MS = 1500;

function door(t: TestContext, heldOpenMs = 60_000) {
  let securedForMs = -1;
  const piece = contactInput<{ secured: () => number }>({ name: 'door', securedForMs: (parts) => parts.secured() });
  const pc = pieceContext({ held_open_ms: heldOpenMs, relock_grace_ms: GRACE_MS });
  const contact = piece.create(pc.ctx, { secured: () => securedForMs });
  t.after(() => contact.stop());
  const read = (open: boolean | undefined) => contact.observe(open === undefined ? {} : { door: open });
  return { ...pc, contact, read, secure: (ms: number) => (securedForMs = ms) };
}

test('a reading without the contact, or not a boolean, changes nothing', (t) => {
  const { contact, read, eventTypes } = door(t);
  read(undefined);
  assert.equal(contact.state().door, 'unknown');
  read(false);
  contact.observe({ door: 1 as unknown as boolean });
  read(undefined);
  assert.equal(contact.state().door, 'closed');
  assert.deepEqual(eventTypes(), []);
});

test('forced only when it opens after the lock has been on longer than the grace; closing is never forced', (t) => {
  const { read, secure, eventTypes } = door(t);
  read(false);
  secure(GRACE_MS);
  read(true);
  read(false);
  secure(GRACE_MS + 1);
  read(true);
  read(false);
  assert.deepEqual(eventTypes(), ['door_opened', 'door_closed', 'door_forced', 'door_closed']);
});

test('held open once per opening; no held-open timer once the device is stopping', async (t) => {
  const { ctx, read, eventTypes, events } = door(t, 30);
  read(false);
  read(true);
  await until('held open', () => eventTypes().includes('door_held_open'));
  const openMs = events.find((e) => e.type === 'door_held_open')!.details!.open_ms as number;
  assert.ok(openMs >= 30 && openMs < 60_000, `open_ms ${openMs}: how long it has been open`);
  read(false);
  ctx.lane.stop();
  read(true);
  // The sentinel is a timer due after the held-open timer this opening would have set: Node runs
  // timers in the order they fall due, so when it runs, that one would have run.
  await new Promise((resolve) => setTimeout(resolve, 31));
  assert.deepEqual(eventTypes(), ['door_opened', 'door_held_open', 'door_closed', 'door_opened']);
});

test('a stop ends the held-open timer of an opening under way', async (t) => {
  const { contact, read, eventTypes } = door(t, 30);
  read(false);
  read(true);
  await contact.stop();
  // A timer due after the held-open one: when it runs, that one would have run (see above).
  await new Promise((resolve) => setTimeout(resolve, 31));
  assert.deepEqual(eventTypes(), ['door_opened']);
});

test('its settings and which of its events matter for security', () => {
  const piece = contactInput({ name: 'door', securedForMs: () => -1 });
  assert.deepEqual(piece.settings, {
    held_open_ms: { type: 'int', min: 1000, max: 86_400_000, default: 30_000 },
    relock_grace_ms: { type: 'int', min: 0, max: 60_000, default: 1500 },
  });
  const security = Object.entries(piece.events ?? {}).map(([name, e]) => [name, e.security === true]);
  assert.deepEqual(security, [
    ['door_opened', false],
    ['door_closed', false],
    ['door_forced', true],
    ['door_held_open', true],
  ]);
});
