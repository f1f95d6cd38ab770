// The ONVIF event service client against the simulated camera over real HTTP: properties at
// connect, the pull-point subscription with its Initialized messages, long polls that bring each
// topic's change, Renew before expiry, a new subscription after the camera restarts or forgets
// it, Unsubscribe at stop, and a camera answering faults or garbage to the event calls while
// snapshots and PTZ keep working.
import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import type { DeviceNotice, NoticeListener } from '../../../src/driver-api.js';
import type { OnvifEventTiming } from '../../../src/transport/onvif/access.js';
import type { Misbehaviour, TestCameraOptions } from '../../../src/simulator/onvif-camera/camera.js';
import { nextEvent, noUnhandledRejections, startCamera, startTransport } from '../../peers/onvif-camera-fixture.js';
import { until } from '../../support/wait.js';

const TIMEOUT = { timeout: 60_000 };
const CMD = { priority: 'command' } as const;

function recorder(): NoticeListener & { notices: DeviceNotice[]; statuses: string[]; receivedAt: Map<DeviceNotice, number> } {
  const notices: DeviceNotice[] = [];
  const statuses: string[] = [];
  const receivedAt = new Map<DeviceNotice, number>();
  return {
    notices,
    statuses,
    receivedAt,
    notice: (n) => {
      notices.push(n);
      receivedAt.set(n, Date.now());
    },
    status: (s, why) => void statuses.push(why === undefined ? s : `${s}: ${why}`),
  };
}

async function listening(t: TestContext, opts: TestCameraOptions = {}, timing: Partial<OnvifEventTiming> = {}, topics?: string[]) {
  const camera = await startCamera(t, opts);
  const { transport, log } = await startTransport(t, camera);
  if (!transport.connected) await nextEvent(transport, 'up');
  const listener = recorder();
  const handle = transport.listenEvents(topics === undefined ? {} : { topics }, listener, { pullTimeoutS: 2, ...timing });
  t.after(() => handle.stop());
  return { camera, transport, log, listener, handle };
}

const changes = (notices: DeviceNotice[]) => notices.filter((n) => !n.initialized);

describe('ONVIF events', () => {
  it('reads the properties, subscribes, and hears the state at subscription time as Initialized', TIMEOUT, async (t) => {
    noUnhandledRejections(t);
    const { camera, listener, handle } = await listening(t, { inputs: ['AlarmIn_1', 'AlarmIn_2'] });
    await until('the Initialized messages', () => listener.notices.length >= 6);
    assert.deepEqual(camera.callsOf('GetEventProperties').length, 1);
    assert.ok(handle.topics().includes('tns1:VideoSource/MotionAlarm'), handle.topics().join(', '));
    assert.ok(handle.topics().includes('tns1:Device/Trigger/DigitalInput'));
    assert.ok(listener.notices.every((n) => n.initialized && n.active === false));
    assert.deepEqual(
      listener.notices.map((n) => `${n.subject}:${n.name}`).sort(),
      ['input:AlarmIn_1', 'input:AlarmIn_2', 'motion:MyMotionDetectorRule', 'motion:VideoSource_1', 'tamper:MyTamperDetectorRule', 'tamper:VideoSource_1'],
    );
    assert.equal(listener.statuses[0], 'subscribed');
    assert.equal(camera.activeSubscriptions(), 1);
  });

  it('maps each topic: motion (alarm and rule), tamper (rule and scene change), inputs, others with their items', TIMEOUT, async (t) => {
    noUnhandledRejections(t);
    const { camera, listener } = await listening(t);
    await until('subscribed', () => listener.statuses.includes('subscribed') && listener.notices.length >= 5);
    camera.setMotion(true);
    camera.setMotion(true, { rule: 'Driveway' });
    camera.setTamper(true);
    camera.setTamper(true, { scene: true });
    camera.setInput('AlarmIn_1', true);
    camera.raiseEvent('Monitoring/ProcessorUsage', { Token: 'cpu0' }, { Value: '42.5' });
    await until('six changes', () => changes(listener.notices).length >= 6);
    const seen = changes(listener.notices).map((n) => ({ subject: n.subject, name: n.name, active: n.active, details: n.details }));
    assert.deepEqual(seen, [
      { subject: 'motion', name: 'VideoSource_1', active: true, details: { topic: 'tns1:VideoSource/MotionAlarm' } },
      { subject: 'motion', name: 'Driveway', active: true, details: { topic: 'tns1:RuleEngine/CellMotionDetector/Motion' } },
      { subject: 'tamper', name: 'MyTamperDetectorRule', active: true, details: { topic: 'tns1:RuleEngine/TamperDetector/Tamper' } },
      { subject: 'tamper', name: 'VideoSource_1', active: true, details: { topic: 'tns1:VideoSource/GlobalSceneChange/ImagingService' } },
      { subject: 'input', name: 'AlarmIn_1', active: true, details: { topic: 'tns1:Device/Trigger/DigitalInput' } },
      { subject: 'other', name: '', active: undefined, details: { topic: 'tns1:Monitoring/ProcessorUsage', 'source.Token': 'cpu0', 'data.Value': '42.5' } },
    ]);
    const motion = changes(listener.notices)[0];
    assert.equal(typeof motion.deviceTime, 'number');
    assert.ok(Math.abs(motion.deviceTime! - Date.now()) < 60_000);
  });

  it("carries the camera's own time and its clock offset", TIMEOUT, async (t) => {
    noUnhandledRejections(t);
    const { camera, listener } = await listening(t, { clockOffsetMs: 120_000 });
    await until('subscribed', () => listener.notices.length >= 5);
    camera.setMotion(true);
    const motion = await until('motion', () => changes(listener.notices).find((n) => n.subject === 'motion'));
    assert.ok(Math.abs(motion.clockOffsetMs - 120_000) < 3000, `offset ${motion.clockOffsetMs}`);
    // The camera's clock says two minutes ahead; taking the offset off gives our time.
    assert.ok(Math.abs(motion.deviceTime! - motion.clockOffsetMs - Date.now()) < 10_000);
  });

  it('keeps only the configured topics (a topic and those under it)', TIMEOUT, async (t) => {
    noUnhandledRejections(t);
    const { camera, listener } = await listening(t, {}, {}, ['tns1:RuleEngine']);
    await until('subscribed', () => listener.notices.length >= 2);
    camera.setMotion(true);
    camera.setMotion(true, { rule: 'Driveway' });
    await until('the rule motion', () => changes(listener.notices).length >= 1);
    camera.setTamper(true); // a sentinel behind the filtered one
    await until('the tamper', () => changes(listener.notices).length >= 2);
    assert.deepEqual(changes(listener.notices).map((n) => n.details.topic), ['tns1:RuleEngine/CellMotionDetector/Motion', 'tns1:RuleEngine/TamperDetector/Tamper']);
    assert.ok(listener.notices.every((n) => n.details.topic.startsWith('tns1:RuleEngine/')));
  });

  it('long-polls: a pull waits at the camera until something happens', TIMEOUT, async (t) => {
    noUnhandledRejections(t);
    const { camera, listener } = await listening(t, {}, { pullTimeoutS: 30 });
    await until('subscribed', () => listener.notices.length >= 5);
    // The next pull is held by the camera (Timeout 30 s); motion answers it.
    await until('a pull in flight', () => camera.callsOf('PullMessages').length >= 2);
    const raisedAt = Date.now();
    camera.setMotion(true);
    await until('motion', () => changes(listener.notices)[0]);
    const carrier = camera.pulls.find((p) => p.answeredAt >= raisedAt && p.topics.includes('VideoSource/MotionAlarm'));
    assert.ok(carrier !== undefined);
    assert.ok(carrier.startedAt <= raisedAt, 'the motion came on a pull that was already waiting at the camera');
  });

  it('renews before the subscription expires, and never lets it lapse', TIMEOUT, async (t) => {
    noUnhandledRejections(t);
    const { camera, listener } = await listening(t, {}, { subscriptionS: 2, pullTimeoutS: 1 });
    await until('two renewals', () => camera.callsOf('Renew').length >= 2);
    assert.equal(camera.callsOf('CreatePullPointSubscription').length, 1, 'the one subscription was kept alive');
    assert.equal(camera.activeSubscriptions(), 1);
    camera.setMotion(true);
    await until('motion', () => changes(listener.notices).length === 1);
  });

  it('subscribes again after the camera restarts and forgot its subscriptions', TIMEOUT, async (t) => {
    noUnhandledRejections(t);
    const { camera, transport, listener } = await listening(t);
    await until('subscribed', () => listener.notices.length >= 5);
    await camera.restart();
    await until('a second subscription', () => camera.callsOf('CreatePullPointSubscription').length >= 2 && camera.activeSubscriptions() === 1, 20_000);
    await until('Initialized again', () => listener.notices.filter((n) => n.initialized).length >= 10);
    camera.setTamper(true);
    await until('tamper after the restart', () => changes(listener.notices).some((n) => n.subject === 'tamper'));
    assert.ok(transport.connected);
  });

  it('makes a new subscription when the camera lets one expire under it', TIMEOUT, async (t) => {
    noUnhandledRejections(t);
    const { camera, listener } = await listening(t, {}, { subscriptionS: 60, pullTimeoutS: 1 });
    await until('subscribed', () => listener.notices.length >= 5);
    // The camera refuses the Renew's successor: the pull point is gone (as after its own expiry).
    camera.misbehave('PullMessages', { kind: 'fault', code: 'Sender', subcodes: ['ter:InvalidArgVal', 'ter:ResourceUnknown'], reason: 'no such subscription' });
    await until('a retry', () => listener.statuses.some((s) => s.startsWith('retrying')));
    camera.behave('PullMessages');
    await until('a second subscription', () => camera.callsOf('CreatePullPointSubscription').length >= 2);
    camera.setMotion(true);
    await until('motion', () => changes(listener.notices).some((n) => n.subject === 'motion'));
  });

  it('subscribes even when the camera answers GetEventProperties with a fault', TIMEOUT, async (t) => {
    noUnhandledRejections(t);
    const camera = await startCamera(t);
    camera.misbehave('GetEventProperties', { kind: 'fault', code: 'Receiver', subcodes: ['ter:ActionNotSupported'], reason: 'not here' });
    const { transport, log } = await startTransport(t, camera);
    if (!transport.connected) await nextEvent(transport, 'up');
    const listener = recorder();
    const handle = transport.listenEvents({}, listener, { pullTimeoutS: 1 });
    t.after(() => handle.stop());
    await until('subscribed', () => listener.statuses.includes('subscribed'));
    assert.deepEqual(handle.topics(), []);
    assert.ok(log.entries.some((e) => e.msg === 'camera would not list its event topics; subscribing to all'));
  });

  it('unsubscribes at stop', TIMEOUT, async (t) => {
    noUnhandledRejections(t);
    const { camera, listener, handle } = await listening(t);
    await until('subscribed', () => listener.notices.length >= 5);
    assert.equal(camera.activeSubscriptions(), 1);
    await handle.stop();
    assert.equal(camera.callsOf('Unsubscribe').length, 1);
    assert.equal(camera.activeSubscriptions(), 0);
  });

  it('says unsupported for a camera without an event service', TIMEOUT, async (t) => {
    noUnhandledRejections(t);
    const { listener, log } = await listening(t, { events: false });
    await until('unsupported', () => listener.statuses.find((s) => s.startsWith('unsupported')));
    assert.ok(log.entries.some((e) => e.level === 'warn' && e.msg?.includes('no event service')));
  });

  for (const [what, how] of [
    ['a SOAP fault', { kind: 'fault', code: 'Receiver', subcodes: ['ter:Action'], reason: 'event engine busy' }],
    ['an HTML page', { kind: 'malformed', variant: 'not-xml' }],
    ['truncated XML', { kind: 'malformed', variant: 'truncated' }],
    ['a body past the limit', { kind: 'huge', bytes: 2 * 1024 * 1024 }],
    ['XML nested 10,000 deep', { kind: 'raw', body: `${'<a>'.repeat(10_000)}${'</a>'.repeat(10_000)}` }],
    ['an envelope in an unknown namespace', { kind: 'raw', body: '<x:Envelope xmlns:x="urn:nobody"><x:Body><x:PullMessagesResponse/></x:Body></x:Envelope>' }],
  ] as [string, Misbehaviour][]) {
    it(`a camera answering ${what} to the event calls: retried with backoff, snapshots and PTZ keep working`, TIMEOUT, async (t) => {
      noUnhandledRejections(t);
      const camera = await startCamera(t);
      camera.misbehave('CreatePullPointSubscription', how);
      camera.misbehave('PullMessages', how);
      const { transport, log } = await startTransport(t, camera);
      if (!transport.connected) await nextEvent(transport, 'up');
      const listener = recorder();
      const handle = transport.listenEvents({}, listener, { pullTimeoutS: 1 });
      t.after(() => handle.stop());
      await until('two failed subscriptions', () => listener.statuses.filter((s) => s.startsWith('retrying')).length >= 2);
      assert.ok(log.entries.some((e) => e.level === 'warn' && e.msg === 'camera event subscription failed; subscribing again with backoff'));
      const shot = await transport.snapshot('Profile_1', CMD);
      assert.deepEqual(shot.bytes, camera.jpeg);
      await transport.continuousMove('Profile_1', { pan: 0.5, tilt: 0, zoom: 0 }, CMD);
      assert.ok(transport.connected, 'the camera session stays up');
      assert.deepEqual(listener.notices, []);
      camera.behave();
      await until('subscribed once the camera behaves', () => listener.statuses.includes('subscribed'), 20_000);
      camera.setMotion(true);
      await until('motion', () => changes(listener.notices).some((n) => n.subject === 'motion'));
    });
  }
});
