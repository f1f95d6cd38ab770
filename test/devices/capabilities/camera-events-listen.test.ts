// How the camera-events piece subscribes, against a driver's listen recorded here (the whole path
// over a simulated camera is test/devices/capabilities/camera-events.test.ts).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cameraEvents } from '../../../src/devices/capabilities/camera-events.js';
import { parseCameraEvents } from '../../../src/devices/capabilities/camera-events-config.js';
import type { DeviceNotice, ListenOptions, NoticeListener } from '../../../src/driver-api.js';
import { pieceContext } from './piece-context.js';

function piece(events: unknown, withListen = true) {
  const pc = pieceContext();
  const listens: { opts: ListenOptions; listener: NoticeListener }[] = [];
  const notices = { listen: (opts: ListenOptions, listener: NoticeListener) => (listens.push({ opts, listener }), async () => undefined) };
  const ctx = { ...pc.ctx, sections: { events: parseCameraEvents(events, 'events', []) }, ...(withListen ? { notices } : {}) };
  return { ...pc, listens, runtime: cameraEvents().create(ctx, undefined as never) };
}

test('one subscription however often the camera is reached again, with the configured topics', async () => {
  const { runtime, listens } = piece({ enabled: true, topics: ['tns1:RuleEngine'] });
  await runtime.applySafeState!();
  await runtime.applySafeState!();
  assert.equal(listens.length, 1);
  assert.deepEqual(listens[0].opts, { topics: ['tns1:RuleEngine'] });
});

test('without topics it asks for every event (no topic filter at all)', async () => {
  const { runtime, listens } = piece({ enabled: true });
  await runtime.applySafeState!();
  assert.deepEqual(listens[0].opts, {});
  assert.ok(!('topics' in listens[0].opts));
});

test('a driver that cannot listen: the state says unsupported and the log says why, once', async () => {
  const { runtime, logs, changes } = piece({ enabled: true }, false);
  await runtime.applySafeState!();
  assert.equal(runtime.state!().events, 'unsupported');
  assert.deepEqual(logs.map((l) => `${l.level} ${l.msg}`), ['warn events enabled, but the driver of this camera does not listen for events']);
  assert.equal(changes(), 1);
});

test('a status the driver repeats is published once', async () => {
  const { runtime, listens, changes } = piece({ enabled: true });
  await runtime.applySafeState!();
  const { listener } = listens[0];
  listener.status('waiting');
  listener.status('waiting');
  listener.status('subscribed');
  listener.status('subscribed');
  assert.equal(runtime.state!().events, 'subscribed');
  assert.equal(changes(), 2);
});

test('events off: no subscription, and the state says off', async () => {
  const { runtime, listens } = piece(undefined);
  await runtime.applySafeState!();
  assert.equal(listens.length, 0);
  assert.equal(runtime.state!().events, 'off');
});

const motion = (active: boolean, extra: Partial<DeviceNotice> = {}): DeviceNotice => ({ subject: 'motion', active, initialized: false, name: 'rule-1', clockOffsetMs: 0, details: {}, ...extra });

test("an event carries the camera's time on our clock, and a topic even when the camera named none", async () => {
  const { runtime, listens, events } = piece({ enabled: true });
  await runtime.applySafeState!();
  const deviceTime = Date.parse('2026-12-05T10:00:00.000Z');
  listens[0].listener.notice(motion(true, { deviceTime, clockOffsetMs: 1500 }));
  assert.equal(events.length, 1);
  const { type, details } = events[0];
  assert.equal(type, 'motion');
  assert.equal(details?.source, 'rule-1');
  assert.equal(details?.topic, '');
  assert.equal(details?.camera_time, '2026-12-05T10:00:00.000Z');
  assert.equal(details?.at, deviceTime - 1500);
  assert.equal(typeof details?.received_at, 'number');
  await runtime.stop!();
});

test('the counters follow what was emitted and folded; after a stop nothing is heard', async () => {
  const { runtime, listens, events, touches } = piece({ enabled: true, min_interval_ms: 60_000 });
  await runtime.applySafeState!();
  const { listener } = listens[0];
  listener.notice(motion(true));
  listener.notice(motion(false));
  assert.deepEqual((runtime as unknown as { counts: object }).counts, { emitted: 1, debounced: 1, rateLimited: 0 });
  await runtime.stop!();
  const touched = touches();
  listener.notice(motion(true, { name: 'rule-2' }));
  assert.equal(touches(), touched, 'no state change after the stop');
  assert.deepEqual(events.map((e) => e.type), ['motion'], 'the folded motion_end was dropped by the stop, and nothing after it');
  assert.equal(runtime.state!().motion, false);
});
