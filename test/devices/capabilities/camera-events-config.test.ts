// A camera's `events` block through the whole config loader: defaults, strict values, every
// problem under the device's id, and links that trigger on camera events.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadConfig } from '../../../src/config.js';
import { CAMERA_EVENTS_DEFAULTS, parseCameraEvents } from '../../../src/devices/capabilities/camera-events-config.js';
import type { ConfigIssue } from '../../../src/driver-api.js';
import { topics } from '../../../src/topics.js';
import { messageClass } from '../../../src/uplink/message-class.js';
import { demo, expectIssue, issuesOf } from '../../config/support.js';

function withEvents(events: unknown, extra: Record<string, unknown> = {}): Record<string, any> {
  const doc = demo();
  doc.links = [];
  const cam = doc.devices.find((d: { id: string }) => d.id === 'lobby-cam');
  if (events === undefined) delete cam.events;
  else cam.events = events;
  Object.assign(cam, extra);
  return doc;
}

function cameraSections(doc: unknown) {
  const result = loadConfig({ document: doc, env: {} });
  assert.ok(result.ok, result.ok ? '' : JSON.stringify(result.issues));
  return result.config.devices.find((d) => d.id === 'lobby-cam')!.sections;
}

test('no events block: events off, with the defaults', () => {
  assert.deepEqual(cameraSections(withEvents(undefined)), { events: CAMERA_EVENTS_DEFAULTS });
  assert.equal(CAMERA_EVENTS_DEFAULTS.enabled, false);
});

test('an events block is taken as given, defaults filling the rest', () => {
  assert.deepEqual(cameraSections(withEvents({ enabled: true, topics: ['tns1:RuleEngine', 'tns1:VideoSource/MotionAlarm'], max_per_minute: 10 })), {
    events: { enabled: true, topics: ['tns1:RuleEngine', 'tns1:VideoSource/MotionAlarm'], min_interval_ms: 1000, max_per_minute: 10 },
  });
});

test('every problem of an events block is named under the device id', () => {
  const issues = issuesOf(withEvents({ enabled: 'yes', topics: ['MotionAlarm', 7], min_interval_ms: -1, max_per_minute: 1.5, colour: 'red' }));
  expectIssue(issues, 'devices[lobby-cam].events.enabled', /must be true or false, got "yes"/);
  expectIssue(issues, 'devices[lobby-cam].events.topics[0]', /ONVIF topic/);
  expectIssue(issues, 'devices[lobby-cam].events.topics[1]', /ONVIF topic/);
  expectIssue(issues, 'devices[lobby-cam].events.min_interval_ms', /integer from 0 to 3600000, got -1/);
  expectIssue(issues, 'devices[lobby-cam].events.max_per_minute', /integer from 1 to 6000, got 1.5/);
  expectIssue(issues, 'devices[lobby-cam].events.colour', /unknown key/);
  expectIssue(issuesOf(withEvents('on')), 'devices[lobby-cam].events', /must be a mapping/);
  expectIssue(issuesOf(withEvents({ topics: [] })), 'devices[lobby-cam].events.topics', /list of 1 to 32/);
  // A string "false" is no boolean: strict, as every other boolean of the config.
  expectIssue(issuesOf(withEvents({ enabled: 'false' })), 'devices[lobby-cam].events.enabled', /true or false/);
});

test('a topic is a whole expression: nothing before the prefix, nothing after the last name', () => {
  for (const bad of [' tns1:RuleEngine', 'x tns1:RuleEngine', 'tns1:RuleEngine/', 'tns1:RuleEngine/Motion extra', 'tns1:RuleEngine//Motion']) {
    expectIssue(issuesOf(withEvents({ topics: [bad] })), 'devices[lobby-cam].events.topics[0]', /ONVIF topic/);
  }
  // A list whose text reads as a topic (a YAML slip: `- [tns1:RuleEngine]`) is still no string.
  expectIssue(issuesOf(withEvents({ topics: [['tns1:RuleEngine']] })), 'devices[lobby-cam].events.topics[0]', /ONVIF topic.*got \["tns1:RuleEngine"\]/);
});

test('a gate cannot have an events block (only kinds that declare it)', () => {
  const doc = demo();
  doc.devices.find((d: { id: string }) => d.id === 'main-gate').events = { enabled: true };
  expectIssue(issuesOf(doc), 'devices[main-gate].events', /unknown key for a gate/);
});

test("links trigger on camera events, and may command the camera itself (its events are its own sensors'); an unknown camera event is refused", () => {
  const doc = withEvents({ enabled: true });
  doc.links = [
    { name: 'motion-snap', on: { device: 'lobby-cam', event: 'motion' }, run: [{ device: 'lobby-cam', command: 'snapshot' }] },
    { name: 'tamper-snap', on: { device: 'lobby-cam', event: 'tamper' }, run: [{ device: 'lobby-cam', command: 'preset', args: { preset: '2' } }] },
    { name: 'input-unlock', on: { device: 'lobby-cam', event: 'input_active' }, run: [{ device: 'main-gate', command: 'unlock' }] },
  ];
  const result = loadConfig({ document: doc, env: {} });
  assert.ok(result.ok, result.ok ? '' : JSON.stringify(result.issues));
  assert.deepEqual(result.config.links.map((l) => l.on.event), ['motion', 'tamper', 'input_active']);
  doc.links = [{ on: { device: 'lobby-cam', event: 'motion_start' }, run: [{ device: 'main-gate', command: 'lock' }] }];
  expectIssue(issuesOf(doc), 'links[0].on.event', /motion_start/);
  // An event a command causes (snapshot) still may not command its own device.
  doc.links = [{ on: { device: 'lobby-cam', event: 'snapshot' }, run: [{ device: 'lobby-cam', command: 'snapshot' }] }];
  expectIssue(issuesOf(doc), 'links[0].run[0].device', /must not command the device that triggers it/);
  // A loop through another device is still refused.
  doc.links = [
    { on: { device: 'lobby-cam', event: 'snapshot' }, run: [{ device: 'main-gate', command: 'unlock' }] },
    { on: { device: 'main-gate', event: 'unlocked' }, run: [{ device: 'lobby-cam', command: 'snapshot' }] },
  ];
  expectIssue(issuesOf(doc), 'links[0]', /form a loop/);
});

test("every event of the camera's own is external (a link on it may command the camera); tamper and its end are security events", () => {
  const own = ['motion', 'motion_end', 'tamper', 'tamper_end', 'input_active', 'input_inactive', 'onvif_event'];
  const doc = withEvents({ enabled: true });
  doc.links = own.map((event) => ({ name: `${event}-snap`, on: { device: 'lobby-cam', event }, run: [{ device: 'lobby-cam', command: 'snapshot' }] }));
  const result = loadConfig({ document: doc, env: {} });
  assert.ok(result.ok, result.ok ? '' : JSON.stringify(result.issues));
  // A snapshot is caused by a command: links on it may command other devices only.
  doc.links = [{ on: { device: 'lobby-cam', event: 'snapshot' }, run: [{ device: 'main-gate', command: 'unlock' }] }];
  assert.ok(loadConfig({ document: doc, env: {} }).ok);
  const eventClass = (type: string) => messageClass('hq', topics.event('hq', 'camera', 'lobby-cam'), Buffer.from(JSON.stringify({ event: type })), false);
  assert.deepEqual(own.map(eventClass), ['telemetry', 'telemetry', 'security', 'security', 'telemetry', 'telemetry', 'telemetry']);
});

function parsed(raw: unknown) {
  const issues: ConfigIssue[] = [];
  const config = parseCameraEvents(raw, 'events', issues);
  return { config, issues: issues.map((i) => `${i.path}: ${i.message}`) };
}

test('each limit is accepted exactly, and one past it refused', () => {
  const name = (n: number) => `tns1:${'A'.repeat(n - 5)}`;
  assert.equal(name(256).length, 256);
  const at = parsed({ min_interval_ms: 3_600_000, max_per_minute: 6000, topics: Array.from({ length: 32 }, () => name(256)) });
  assert.deepEqual(at.issues, []);
  assert.equal(at.config.topics?.length, 32);
  assert.deepEqual(parsed({ min_interval_ms: 0, max_per_minute: 1 }).issues, []);
  assert.deepEqual(parsed({ min_interval_ms: 3_600_001, max_per_minute: 6001, topics: [name(257)] }).issues, [
    'events.min_interval_ms: must be an integer from 0 to 3600000, got 3600001',
    'events.max_per_minute: must be an integer from 1 to 6000, got 6001',
    `events.topics[0]: must be an ONVIF topic such as tns1:RuleEngine/CellMotionDetector/Motion, got "${name(257)}"`,
  ]);
  assert.match(parsed({ topics: Array.from({ length: 33 }, () => 'tns1:RuleEngine') }).issues.join('\n'), /^events\.topics: must be a list of 1 to 32 ONVIF topics \(e\.g\. tns1:VideoSource\/MotionAlarm\), got \[/);
});

test('what is not a mapping (a list too) is refused with the keys it may have, and reads as the defaults', () => {
  for (const raw of [[], ['enabled'], 'on', null, 7]) {
    const { config, issues } = parsed(raw);
    assert.deepEqual(issues, [`events: must be a mapping {enabled, topics, min_interval_ms, max_per_minute}, got ${JSON.stringify(raw)}`]);
    assert.deepEqual(config, CAMERA_EVENTS_DEFAULTS);
  }
});

test('an unknown key names the allowed ones; keys left out keep their defaults, refused values too', () => {
  assert.deepEqual(parsed({ colour: 'red' }).issues, ['events.colour: unknown key (allowed: enabled, topics, min_interval_ms, max_per_minute)']);
  assert.deepEqual(parsed({ max_per_minute: 10 }), { config: { ...CAMERA_EVENTS_DEFAULTS, max_per_minute: 10 }, issues: [] });
  assert.deepEqual(parsed({ min_interval_ms: -1, max_per_minute: 'many' }).config, CAMERA_EVENTS_DEFAULTS);
  assert.equal(parsed({}).config.topics, undefined, 'no topics: every event the camera has');
});
