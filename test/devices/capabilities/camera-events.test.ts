// The camera-events piece in a camera device, end to end below the gateway: a Device of the
// camera kind over the onvif driver, the ONVIF transport and the simulated camera's event service.
// The state at subscription time is quiet, changes emit, each topic maps to its event, debounce
// folds flapping into one trailing event, the rate limit drops and counts, and a camera that
// answers the event calls badly keeps its snapshots.
import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { onvifDriver } from '../../../drivers/onvif/index.js';
import { Device, type DeviceSink } from '../../../src/devices/device.js';
import { parseFields, type FieldValues } from '../../../src/config/fields.js';
import { cameraKind } from '../../../src/devices/kinds/camera.js';
import { parseCameraEvents } from '../../../src/devices/capabilities/camera-events-config.js';
import type { TestCameraOptions } from '../../../src/simulator/onvif-camera/camera.js';
import { noUnhandledRejections, recordingLog, startCamera, startTransport } from '../../peers/onvif-camera-fixture.js';
import { until, within } from '../../support/wait.js';

const TIMEOUT = { timeout: 60_000 };

interface Event {
  type: string;
  details: Record<string, unknown>;
}

async function cameraDevice(t: TestContext, events: Record<string, unknown> | undefined, camera: TestCameraOptions = {}) {
  const cam = await startCamera(t, camera);
  const { transport } = await startTransport(t, cam);
  const recorded: Event[] = [];
  const sink: DeviceSink = { state: () => {}, event: (_d, type, details) => void recorded.push({ type, details }), availability: () => {}, image: () => {} };
  const issues: { path: string; message: string }[] = [];
  const sections = { events: parseCameraEvents(events, 'devices[cam-1].events', issues) };
  assert.deepEqual(issues, []);
  const log = recordingLog();
  const driver = onvifDriver.create({ deviceId: 'cam-1', kind: 'camera', options: {}, transport, log });
  const settings = parseFields({}, cameraKind.settings).values;
  const device = new Device({ id: 'cam-1', name: 'Gate camera', poll_ms: 200, offline_after: 2, command_timeout_ms: 5000, settings, sections }, cameraKind, driver, sink, log);
  await device.start();
  t.after(() => device.stop());
  await until('the camera online', () => device.availability === 'online');
  return { camera: cam, device, recorded, log };
}

const subscribed = (device: Device) => until('subscribed with the initial state', () => device.state().events === 'subscribed' && device.state().motion !== null && device.state().tamper !== null);
const types = (events: Event[]) => events.map((e) => e.type);

describe('camera events piece', () => {
  it('sets motion, tamper and inputs from the Initialized messages without an event', TIMEOUT, async (t) => {
    noUnhandledRejections(t);
    const { camera, device, recorded } = await cameraDevice(t, { enabled: true }, { inputs: ['AlarmIn_1', 'AlarmIn_2'] });
    await subscribed(device);
    await until('both inputs', () => Object.keys(device.state().inputs as object).length === 2);
    const s = device.state();
    assert.equal(s.motion, false);
    assert.equal(s.tamper, false);
    assert.deepEqual(s.inputs, { AlarmIn_1: false, AlarmIn_2: false });
    // A sentinel change: the only event there is.
    camera.setInput('AlarmIn_2', true);
    await until('the input event', () => recorded.length > 0);
    assert.deepEqual(types(recorded), ['input_active']);
    assert.deepEqual(device.state().inputs, { AlarmIn_1: false, AlarmIn_2: true });
  });

  it('maps each topic to its event with the source, the camera time (offset applied) and ours', TIMEOUT, async (t) => {
    noUnhandledRejections(t);
    const { camera, device, recorded } = await cameraDevice(t, { enabled: true, min_interval_ms: 0 }, { clockOffsetMs: 90_000 });
    await subscribed(device);
    camera.setMotion(true);
    await until('motion', () => device.state().motion === true);
    camera.setMotion(false);
    camera.setMotion(true, { rule: 'Driveway' });
    camera.setTamper(true);
    camera.setTamper(false);
    camera.setTamper(true, { scene: true });
    camera.setInput('AlarmIn_1', true);
    camera.setInput('AlarmIn_1', false);
    camera.raiseEvent('Monitoring/ProcessorUsage', { Token: 'cpu0' }, { Value: '42.5' });
    await until('nine events', () => recorded.length >= 9);
    assert.deepEqual(
      recorded.map((e) => [e.type, e.details.source ?? e.details.input ?? '', e.details.topic]),
      [
        ['motion', 'VideoSource_1', 'tns1:VideoSource/MotionAlarm'],
        ['motion_end', 'VideoSource_1', 'tns1:VideoSource/MotionAlarm'],
        ['motion', 'Driveway', 'tns1:RuleEngine/CellMotionDetector/Motion'],
        ['tamper', 'MyTamperDetectorRule', 'tns1:RuleEngine/TamperDetector/Tamper'],
        ['tamper_end', 'MyTamperDetectorRule', 'tns1:RuleEngine/TamperDetector/Tamper'],
        ['tamper', 'VideoSource_1', 'tns1:VideoSource/GlobalSceneChange/ImagingService'],
        ['input_active', 'AlarmIn_1', 'tns1:Device/Trigger/DigitalInput'],
        ['input_inactive', 'AlarmIn_1', 'tns1:Device/Trigger/DigitalInput'],
        ['onvif_event', '', 'tns1:Monitoring/ProcessorUsage'],
      ],
    );
    assert.equal(recorded[8].details['source.Token'], 'cpu0');
    assert.equal(recorded[8].details['data.Value'], '42.5');
    const motion = recorded[0].details;
    // camera_time is the camera's own clock (90 s ahead); `at` is that moment on ours.
    const cameraTime = Date.parse(String(motion.camera_time));
    assert.ok(Math.abs(cameraTime - (motion.received_at as number) - 90_000) < 10_000, `camera_time ${String(motion.camera_time)}`);
    assert.ok(Math.abs((motion.at as number) - (motion.received_at as number)) < 10_000, `at ${String(motion.at)}`);
    const s = device.state();
    assert.equal(s.motion, true, 'the Driveway rule still sees motion');
    assert.equal(s.tamper, true, 'the scene change is still on');
  });

  it('debounce: changes within min_interval_ms fold into one trailing event with the latest state', TIMEOUT, async (t) => {
    noUnhandledRejections(t);
    const { camera, device, recorded } = await cameraDevice(t, { enabled: true, min_interval_ms: 3000 });
    await subscribed(device);
    camera.setMotion(true);
    await until('motion', () => recorded.length === 1);
    camera.setMotion(false);
    camera.setMotion(true);
    camera.setMotion(false);
    await until('the trailing motion_end', () => recorded.length === 2);
    camera.raiseEvent('Monitoring/Sentinel', {}, { Value: '1' });
    await until('the sentinel', () => recorded.some((e) => e.type === 'onvif_event'));
    assert.deepEqual(types(recorded), ['motion', 'motion_end', 'onvif_event']);
    assert.equal(device.state().motion, false);
  });

  it('rate limit: beyond max_per_minute events are dropped and logged once; the state still follows', TIMEOUT, async (t) => {
    noUnhandledRejections(t);
    const { camera, device, recorded, log } = await cameraDevice(t, { enabled: true, min_interval_ms: 0, max_per_minute: 3 });
    await subscribed(device);
    for (let i = 1; i <= 6; i++) camera.setInput(`In_${i}`, true);
    await until('six inputs in the state', () => Object.values(device.state().inputs as Record<string, boolean>).filter(Boolean).length === 6);
    assert.deepEqual(types(recorded), ['input_active', 'input_active', 'input_active']);
    const warnings = log.entries.filter((e) => e.msg === 'camera events over the rate limit; dropping them until the rate falls');
    assert.equal(warnings.length, 1, 'logged once per burst');
  });

  it('events off (the default): no subscription at the camera, state says off', TIMEOUT, async (t) => {
    noUnhandledRejections(t);
    const { camera, device } = await cameraDevice(t, undefined);
    // A few polls have run (the probe's GetSystemDateAndTime): still no event call.
    await until('three polls', () => camera.callsOf('GetSystemDateAndTime').length >= 4);
    assert.equal(camera.callsOf('GetEventProperties').length + camera.callsOf('CreatePullPointSubscription').length, 0);
    assert.equal(device.state().events, 'off');
    assert.equal(device.state().motion, null);
  });

  it('unsubscribes when the device stops', TIMEOUT, async (t) => {
    noUnhandledRejections(t);
    const { camera, device } = await cameraDevice(t, { enabled: true });
    await subscribed(device);
    assert.equal(camera.activeSubscriptions(), 1);
    await device.stop();
    assert.equal(camera.activeSubscriptions(), 0);
  });

  it('a camera answering garbage to the event calls stays online and takes snapshots', TIMEOUT, async (t) => {
    noUnhandledRejections(t);
    const { camera, device } = await cameraDevice(t, { enabled: true }, {});
    camera.misbehave('CreatePullPointSubscription', { kind: 'malformed', variant: 'not-xml' });
    await camera.restart();
    await until('retrying', () => device.state().events === 'retrying');
    await until('online again', () => device.availability === 'online');
    const { values } = device.parseArgs('snapshot', {});
    const result = await within(device.execute('snapshot', values as FieldValues, new AbortController().signal), 'the snapshot');
    assert.equal(result.content_type, 'image/jpeg');
    camera.behave();
    await until('subscribed again', () => device.state().events === 'subscribed', 20_000);
  });
});
