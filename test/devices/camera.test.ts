// The camera kind, end to end below the gateway: a Device running the camera behaviour over the
// onvif driver, the ONVIF transport and the test camera.
import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { onvifDriver, type OnvifOptions } from '../../drivers/onvif/index.js';
import { DeviceError } from '../../src/driver-api.js';
import { Device, type Availability, type DeviceSink } from '../../src/devices/device.js';
import { parseFields, type FieldValues } from '../../src/config/fields.js';
import { cameraKind } from '../../src/devices/kinds/camera.js';
import type { ImageMeta } from '../../src/devices/kinds/types.js';
import type { TestCameraOptions, TestOnvifCamera } from '../../src/simulator/onvif-camera/camera.js';
import { noUnhandledRejections, recordingLog, startCamera, startTransport } from '../peers/onvif-camera-fixture.js';
import { sleep, until, within } from '../support/wait.js';

const TIMEOUT = { timeout: 60_000 };

interface Recorded {
  states: Record<string, unknown>[];
  availability: Availability[];
  images: { bytes: Buffer; meta: ImageMeta }[];
}

async function cameraDevice(t: TestContext, opts: { camera?: TestCameraOptions; options?: OnvifOptions; settings?: Record<string, unknown>; password?: string } = {}) {
  const camera = await startCamera(t, opts.camera);
  const { transport } = await startTransport(t, camera, { password: opts.password ?? 'secret' });
  const recorded: Recorded = { states: [], availability: [], images: [] };
  const sink: DeviceSink = {
    state: (_d, state) => void recorded.states.push(state),
    event: () => {},
    availability: (_d, a) => void recorded.availability.push(a),
    image: (_d, bytes, meta) => void recorded.images.push({ bytes, meta }),
  };
  const settings = parseFields(opts.settings ?? {}, cameraKind.settings);
  assert.deepEqual(settings.problems, []);
  const log = recordingLog();
  const driver = onvifDriver.create({ deviceId: 'cam-1', kind: 'camera', options: opts.options ?? {}, transport, log });
  const device = new Device(
    { id: 'cam-1', name: 'Gate camera', poll_ms: 100, offline_after: 2, command_timeout_ms: 5000, settings: settings.values },
    cameraKind,
    driver,
    sink,
    log,
  );
  await device.start();
  t.after(() => device.stop());
  return { camera, transport, device, recorded, log };
}

/** Runs a command the way the pipeline does: arguments checked against the kind first. */
async function command(device: Device, name: string, args: Record<string, unknown> = {}): Promise<Record<string, unknown>> {
  const { values, problems } = device.parseArgs(name, args);
  assert.deepEqual(problems, [], `arguments of ${name}`);
  return within(device.execute(name, values as FieldValues, new AbortController().signal), `the ${name} command`);
}

const online = (device: Device) => until('the camera online', () => device.availability === 'online');
const state = (device: Device) => device.state();

function moves(camera: TestOnvifCamera): string[] {
  return camera.ptzCalls.map((c) => c.operation);
}

describe('camera device', () => {
  it('goes online with what the camera is; URIs carry no credentials', TIMEOUT, async (t) => {
    noUnhandledRejections(t);
    const { device, recorded } = await cameraDevice(t, { camera: { credentialsInUris: true, clockOffsetMs: 300_000 } });
    await online(device);
    const s = state(device);
    assert.equal(s.model, 'TC-2 PTZ');
    assert.equal(s.manufacturer, 'Gatehouse Test');
    assert.equal(s.firmware, 'V5.7.3 build 250101');
    assert.deepEqual(s.profile, { token: 'Profile_1', name: 'mainStream' });
    assert.equal(s.ptz, true);
    assert.equal(s.stream_uri, 'rtsp://127.0.0.1:554/Streaming/Channels/101?transportmode=unicast&profile=Profile_1');
    assert.doesNotMatch(String(s.snapshot_uri), /secret|pwd|admin/);
    assert.ok(Math.abs((s.clock_offset_ms as number) - 300_000) < 3000);
    assert.equal(s.last_snapshot_at, null);
    assert.equal(s.moving, false);
    assert.deepEqual(recorded.availability, ['online']);
    assert.ok(!JSON.stringify(recorded.states).includes('secret'));
    // What the camera is first, its events next, then what changes (kind's stateOrder), updated_at last; each field documented.
    assert.deepEqual(Object.keys(s), [
      ...['manufacturer', 'model', 'firmware', 'serial_number', 'hardware_id', 'profile', 'ptz', 'stream_uri', 'snapshot_uri'],
      ...['motion', 'tamper', 'inputs', 'events'],
      ...['clock_offset_ms', 'moving', 'moving_until', 'preset', 'last_snapshot_at', 'updated_at'],
    ]);
    for (const key of Object.keys(s)) assert.equal(typeof cameraKind.state[key], 'string', `${key} is documented`);
  });

  it('snapshot: the JPEG goes to the sink, the state keeps the time', TIMEOUT, async (t) => {
    noUnhandledRejections(t);
    const { camera, device, recorded } = await cameraDevice(t);
    await online(device);
    const result = await command(device, 'snapshot');
    assert.equal(recorded.images.length, 1);
    assert.deepEqual(recorded.images[0].bytes, camera.jpeg);
    assert.equal(recorded.images[0].meta.contentType, 'image/jpeg');
    assert.deepEqual(result, { content_type: 'image/jpeg', bytes: camera.jpeg.length, taken_at: recorded.images[0].meta.at });
    assert.equal(state(device).last_snapshot_at, recorded.images[0].meta.at);
    assert.equal(camera.snapshots[0].auth, 'digest');
  });

  it('ptz: ContinuousMove now, Stop after duration_ms', TIMEOUT, async (t) => {
    noUnhandledRejections(t);
    const { camera, device } = await cameraDevice(t);
    await online(device);
    const result = await command(device, 'ptz', { pan: 0.5, zoom: -0.25, duration_ms: 300 });
    assert.equal(result.duration_ms, 300);
    assert.equal(typeof result.moving_until, 'number');
    assert.equal(state(device).moving, true);
    await until('the Stop', () => moves(camera).includes('Stop'));
    assert.deepEqual(moves(camera), ['ContinuousMove', 'Stop']);
    const [move, stop] = camera.ptzCalls;
    assert.ok(move.operation === 'ContinuousMove' && move.pan === 0.5 && move.tilt === 0 && move.zoom === -0.25);
    // The stop timer starts once the camera acknowledged the move, so at least duration_ms later (ms clock granularity aside).
    assert.ok(stop.at - move.at >= 300 - 2, `Stop ${stop.at - move.at} ms after the move`);
    await until('not moving', () => state(device).moving === false);
  });

  it('stop ends a move at once; its timer sends no second Stop; a new move replaces the running one', TIMEOUT, async (t) => {
    noUnhandledRejections(t);
    const { camera, device } = await cameraDevice(t);
    await online(device);
    await command(device, 'ptz', { tilt: 1, duration_ms: 400 });
    await command(device, 'stop');
    assert.deepEqual(moves(camera), ['ContinuousMove', 'Stop']);
    assert.equal(state(device).moving, false);
    await sleep(800);
    assert.deepEqual(moves(camera), ['ContinuousMove', 'Stop'], 'the cancelled timer sent nothing');

    await command(device, 'ptz', { pan: 1, duration_ms: 400 });
    await command(device, 'ptz', { pan: -1, duration_ms: 400 });
    await until('the Stop of the second move', () => moves(camera).length === 5);
    await sleep(600);
    assert.deepEqual(moves(camera), ['ContinuousMove', 'Stop', 'ContinuousMove', 'ContinuousMove', 'Stop'], 'one Stop for the two moves');
  });

  it('preset by name; an unknown preset is a device_error that moved nothing and leaves a move to its Stop', TIMEOUT, async (t) => {
    noUnhandledRejections(t);
    const { camera, device } = await cameraDevice(t);
    await online(device);
    assert.deepEqual(await command(device, 'preset', { preset: 'Parking' }), { preset: { token: '2', name: 'Parking' } });
    assert.deepEqual(state(device).preset, { token: '2', name: 'Parking' });
    await command(device, 'ptz', { pan: 0.2, duration_ms: 300 });
    const { values } = device.parseArgs('preset', { preset: 'Roof' });
    const err = await within(device.execute('preset', values, new AbortController().signal).then(() => undefined, (e: unknown) => e), 'the preset command');
    assert.ok(err instanceof DeviceError && err.code === 'device_error' && err.notApplied);
    assert.match(err.message, /^unknown_preset: /);
    await until('the Stop of the move', () => moves(camera).includes('Stop'));
    assert.deepEqual(moves(camera), ['GotoPreset', 'ContinuousMove', 'Stop']);
  });

  it('a Stop the camera refuses is retried until it takes it', TIMEOUT, async (t) => {
    noUnhandledRejections(t);
    const { camera, device, log } = await cameraDevice(t);
    await online(device);
    camera.misbehave('Stop', { kind: 'fault', code: 'Receiver', subcodes: ['ter:Action'], reason: 'motor busy' });
    await command(device, 'ptz', { tilt: -0.5, duration_ms: 100 });
    await until('two refused Stops', () => camera.callsOf('Stop').length >= 2);
    camera.behave();
    await until('a Stop taken', () => moves(camera).includes('Stop'));
    await until('not moving', () => state(device).moving === false);
    assert.ok(log.entries.some((e) => e.msg === 'camera Stop failed; retrying'));
  });

  it('checks arguments: axes -1..1, duration bounded by max_ptz_ms, preset 1..64 characters', TIMEOUT, async (t) => {
    noUnhandledRejections(t);
    const { device } = await cameraDevice(t, { settings: { max_ptz_ms: 2000 } });
    const keys = (command: string, args: Record<string, unknown>) => device.parseArgs(command, args).problems.map((p) => p.key);
    assert.deepEqual(keys('ptz', { pan: 1.5, tilt: -2, zoom: 'in', duration_ms: 2001 }), ['pan', 'tilt', 'zoom', 'duration_ms']);
    assert.deepEqual(keys('ptz', { pan: -1, tilt: 1, zoom: 0.25, duration_ms: 2000 }), []);
    assert.deepEqual(keys('ptz', {}), []);
    assert.deepEqual(keys('ptz', { speed: 1 }), ['speed']);
    assert.deepEqual(keys('preset', {}), ['preset']);
    assert.deepEqual(keys('preset', { preset: '' }), ['preset']);
    assert.deepEqual(keys('preset', { preset: 'x'.repeat(65) }), ['preset']);
    assert.deepEqual(keys('preset', { preset: 7 }), ['preset']);
    assert.deepEqual(keys('snapshot', { quality: 1 }), ['quality']);
  });

  it('camera down: offline after failed probes; back online with the camera, facts refreshed', TIMEOUT, async (t) => {
    noUnhandledRejections(t);
    const { camera, device, recorded } = await cameraDevice(t);
    await online(device);
    await camera.down();
    await until('offline', () => device.availability === 'offline');
    const refused = await within(device.execute('snapshot', {}, new AbortController().signal).then(() => undefined, (e: unknown) => e), 'the snapshot command');
    assert.ok(refused instanceof DeviceError && refused.code === 'offline');
    camera.setFacts({ firmware: 'V5.8.0 build 250601' }); // upgraded while away
    await camera.up();
    await online(device);
    assert.deepEqual(recorded.availability, ['online', 'offline', 'online']);
    await until('the new firmware in the state', () => state(device).firmware === 'V5.8.0 build 250601');
    assert.equal(recorded.states.at(-1)?.firmware, 'V5.8.0 build 250601', 'and published');
    await command(device, 'snapshot');
  });

  it('wrong password: never online, commands refused as offline', TIMEOUT, async (t) => {
    noUnhandledRejections(t);
    const { camera, device } = await cameraDevice(t, { password: 'wrong' });
    await until('init refused twice', () => camera.authFailures.length >= 2);
    assert.equal(device.availability, 'offline');
    const refused = await within(device.execute('snapshot', {}, new AbortController().signal).then(() => undefined, (e: unknown) => e), 'the snapshot command');
    assert.ok(refused instanceof DeviceError && refused.code === 'offline');
    assert.equal(camera.snapshots.length, 0);
  });

  it('stopping the device mid-move stops the camera', TIMEOUT, async (t) => {
    noUnhandledRejections(t);
    const { camera, device } = await cameraDevice(t);
    await online(device);
    await command(device, 'ptz', { pan: 0.3, duration_ms: 10_000 });
    await within(device.stop(), 'the device to stop');
    assert.deepEqual(moves(camera), ['ContinuousMove', 'Stop']);
  });
});
