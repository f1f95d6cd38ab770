// The camera-events piece against a driver's listen recorded here: how it subscribes, and its rules
// (quiet initial state, sources, folding, the rate limit) without a camera (the whole path
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

const input = (name: string, active: boolean): DeviceNotice => ({ subject: 'input', active, initialized: false, name, clockOffsetMs: 0, details: {} });
const counts = (runtime: unknown) => (runtime as { counts: { emitted: number; debounced: number; rateLimited: number } }).counts;

test('other topics: the state at subscription time is no event, a later message is one, its details passed on', async () => {
  const { runtime, listens, events } = piece({ enabled: true });
  await runtime.applySafeState!();
  const other = (initialized: boolean): DeviceNotice => ({ subject: 'other', initialized, name: 'Monitoring/Fan', clockOffsetMs: 0, details: { topic: 'tns1:Monitoring/Fan', Value: '1' } });
  listens[0].listener.notice(other(true));
  assert.equal(events.length, 0, "the state at subscription time says nothing");
  listens[0].listener.notice(other(false));
  assert.deepEqual(events.map((e) => [e.type, e.details?.topic, e.details?.Value]), [['onvif_event', 'tns1:Monitoring/Fan', '1']]);
});

test('the same state again is no change: no touch, no event; a change is both', async () => {
  const { runtime, listens, events, touches } = piece({ enabled: true, min_interval_ms: 0 });
  await runtime.applySafeState!();
  const { listener } = listens[0];
  listener.notice(motion(true));
  assert.equal(touches(), 1);
  listener.notice(motion(true));
  assert.equal(touches(), 1, 'no touch for the same state');
  assert.deepEqual(events.map((e) => e.type), ['motion'], 'and no second event');
  listener.notice(motion(false));
  assert.equal(touches(), 2);
  assert.deepEqual(events.map((e) => e.type), ['motion', 'motion_end']);
  // The state at subscription time changes the state (a touch) but says nothing.
  listener.notice(motion(true, { initialized: true, name: 'rule-2' }));
  assert.equal(touches(), 3);
  assert.equal(events.length, 2);
  await runtime.stop!();
});

test('at most 64 sources per subject are tracked; a known one still follows the camera when the table is full', async () => {
  const { runtime, listens, events } = piece({ enabled: true, min_interval_ms: 0, max_per_minute: 6000 });
  await runtime.applySafeState!();
  const { listener } = listens[0];
  for (let i = 1; i <= 65; i++) listener.notice(input(`In_${i}`, true));
  const inputs = () => runtime.state!().inputs as Record<string, boolean>;
  assert.equal(Object.keys(inputs()).length, 64);
  assert.equal(inputs().In_65, undefined, 'the 65th source is not tracked');
  assert.equal(events.length, 64);
  listener.notice(input('In_1', false));
  assert.equal(inputs().In_1, false, 'a tracked source changes while the table is full');
  assert.equal(events.at(-1)?.type, 'input_inactive');
  await runtime.stop!();
});

test('changes folded while one waits update the waiting one; each fold is counted', async () => {
  const { runtime, listens, events } = piece({ enabled: true, min_interval_ms: 60_000 });
  await runtime.applySafeState!();
  const { listener } = listens[0];
  listener.notice(motion(true));
  listener.notice(motion(false));
  listener.notice(motion(true));
  listener.notice(motion(false));
  assert.deepEqual(counts(runtime), { emitted: 1, debounced: 3, rateLimited: 0 });
  assert.deepEqual(events.map((e) => e.type), ['motion']);
  await runtime.stop!();
});

test('the rate limit: dropped events are logged once when the burst starts and once, with their count, when the rate falls', async (t) => {
  t.mock.timers.enable({ apis: ['Date'], now: Date.parse('2026-12-05T10:00:00Z') });
  const { runtime, listens, events, logs } = piece({ enabled: true, min_interval_ms: 0, max_per_minute: 2 });
  await runtime.applySafeState!();
  const { listener } = listens[0];
  for (let i = 1; i <= 4; i++) listener.notice(input(`In_${i}`, true));
  assert.deepEqual(events.map((e) => e.details?.input), ['In_1', 'In_2']);
  assert.deepEqual(logs.map((l) => [l.msg, l.obj]), [['camera events over the rate limit; dropping them until the rate falls', { max_per_minute: 2, event: 'input_active' }]]);
  t.mock.timers.tick(59_999);
  listener.notice(input('In_5', true));
  assert.equal(events.length, 2, 'the window is a whole minute');
  t.mock.timers.tick(1);
  listener.notice(input('In_6', true));
  assert.deepEqual(events.map((e) => e.details?.input), ['In_1', 'In_2', 'In_6']);
  assert.deepEqual(logs.slice(1).map((l) => [l.level, l.msg, l.obj]), [['warn', 'camera events were dropped by the rate limit', { dropped: 3, max_per_minute: 2 }]]);
  assert.deepEqual(counts(runtime), { emitted: 3, debounced: 0, rateLimited: 3 });
  // A new burst is logged again, its drops counted from zero.
  listener.notice(input('In_7', true));
  listener.notice(input('In_8', true));
  assert.equal(logs.filter((l) => l.msg.startsWith('camera events over the rate limit')).length, 2);
  t.mock.timers.tick(60_000);
  listener.notice(input('In_9', true));
  assert.deepEqual(logs.at(-1)?.obj, { dropped: 1, max_per_minute: 2 });
  await runtime.stop!();
});

test('the trailing event of a fold goes out exactly min_interval_ms after the last one, and only when it says something new', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout', 'Date'], now: Date.parse('2026-12-05T10:00:00Z') });
  const { runtime, listens, events } = piece({ enabled: true, min_interval_ms: 1000 });
  await runtime.applySafeState!();
  const { listener } = listens[0];
  listener.notice(motion(true));
  t.mock.timers.tick(300);
  listener.notice(motion(false));
  listener.notice(motion(true));
  t.mock.timers.tick(700);
  assert.deepEqual(events.map((e) => e.type), ['motion'], 'on-off-on within the interval is no news');
  t.mock.timers.tick(1000);
  listener.notice(motion(false));
  assert.deepEqual(events.map((e) => e.type), ['motion', 'motion_end'], 'the interval has passed: at once');
  t.mock.timers.tick(400);
  listener.notice(motion(true));
  t.mock.timers.tick(599);
  assert.equal(events.length, 2, 'not before the interval since the last event');
  t.mock.timers.tick(1);
  assert.deepEqual(events.map((e) => e.type), ['motion', 'motion_end', 'motion'], 'the trailing change, at 1000 ms');
  await runtime.stop!();
});

test('each source keeps its own interval: a second motion rule is not folded into the first', async () => {
  const { runtime, listens, events } = piece({ enabled: true, min_interval_ms: 60_000 });
  await runtime.applySafeState!();
  listens[0].listener.notice(motion(true));
  listens[0].listener.notice(motion(true, { name: 'rule-2' }));
  listens[0].listener.notice({ subject: 'tamper', active: true, initialized: false, name: 'rule-1', clockOffsetMs: 0, details: {} });
  assert.deepEqual(events.map((e) => [e.type, e.details?.source]), [['motion', 'rule-1'], ['motion', 'rule-2'], ['tamper', 'rule-1']]);
  await runtime.stop!();
});

test('the state lists the inputs by token, sorted', async () => {
  const { runtime, listens } = piece({ enabled: true });
  await runtime.applySafeState!();
  for (const name of ['In_2', 'In_10', 'In_1']) listens[0].listener.notice(input(name, name !== 'In_10'));
  assert.deepEqual(Object.entries(runtime.state!().inputs as object), [['In_1', true], ['In_10', false], ['In_2', true]]);
  await runtime.stop!();
});

test('an event the rate limit dropped was not said: the next change of its source is measured from what was', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout', 'Date'], now: Date.parse('2026-12-05T10:00:00Z') });
  const { runtime, listens, events } = piece({ enabled: true, min_interval_ms: 120_000, max_per_minute: 2 });
  await runtime.applySafeState!();
  const { listener } = listens[0];
  for (const name of ['In_1', 'In_2', 'In_3']) listener.notice(input(name, true));
  assert.equal(events.length, 2, 'In_3 dropped');
  t.mock.timers.tick(60_000);
  listener.notice(input('In_3', false));
  assert.deepEqual(events.map((e) => [e.type, e.details?.input]).at(-1), ['input_inactive', 'In_3'], 'nothing was said for In_3, so no interval holds this back');
  await runtime.stop!();
});
