// The onvif driver over the real transport and the test camera: the probe, profile choice, and
// the actions a camera device runs (info, snapshot, ptz, stop, preset).
import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { onvifDriver, type OnvifOptions } from '../../../drivers/onvif/index.js';
import { DeviceError, type DriverInstance } from '../../../src/driver-api.js';
import { OnvifError } from '../../../src/transport/onvif/access.js';
import type { TestCameraOptions, TestOnvifCamera } from '../../../src/simulator/onvif-camera/camera.js';
import { nextEvent, noUnhandledRejections, recordingLog, rejection, startCamera, startTransport } from '../../peers/onvif-camera-fixture.js';

const TIMEOUT = { timeout: 60_000 };
const CMD = { priority: 'command' } as const;

async function cameraDriver(t: TestContext, options: OnvifOptions = {}, cameraOptions: TestCameraOptions = {}): Promise<{ camera: TestOnvifCamera; driver: Required<Pick<DriverInstance, 'perform'>> & DriverInstance }> {
  const camera = await startCamera(t, cameraOptions);
  const { transport } = await startTransport(t, camera);
  if (!transport.connected) await nextEvent(transport, 'up');
  const driver = onvifDriver.create({ deviceId: 'cam-1', kind: 'camera', options, transport, log: recordingLog() });
  assert.ok(driver.perform);
  return { camera, driver: driver as Required<Pick<DriverInstance, 'perform'>> & DriverInstance };
}

describe('onvif driver', () => {
  it('probes with GetSystemDateAndTime and describes the camera and its first profile', TIMEOUT, async (t) => {
    noUnhandledRejections(t);
    const { camera, driver } = await cameraDriver(t, {}, { clockOffsetMs: -120_000 });
    const readings = await driver.read({ priority: 'poll' });
    assert.equal(readings.session, 1);
    assert.ok(Math.abs((readings.clock_offset_ms as number) + 120_000) < 3000);
    assert.equal(camera.callsOf('GetSystemDateAndTime').at(-1)?.authorized, null, 'the probe needs no credentials');
    const { data } = await driver.perform('info', {}, CMD);
    assert.deepEqual({ ...data, clock_offset_ms: undefined, snapshot_uri: undefined }, {
      manufacturer: 'Gatehouse Test',
      model: 'TC-2 PTZ',
      firmware: 'V5.7.3 build 250101',
      serial_number: 'TC2-0001',
      hardware_id: '88',
      profile: { token: 'Profile_1', name: 'mainStream' },
      ptz: true,
      stream_uri: 'rtsp://127.0.0.1:554/Streaming/Channels/101?transportmode=unicast&profile=Profile_1',
      snapshot_uri: undefined,
      clock_offset_ms: undefined,
      session: 1,
    });
    assert.match(data!.snapshot_uri as string, /^http:\/\/127\.0\.0\.1:\d+\/onvif-http\/snapshot\?Profile_1$/);
  });

  it('uses the profile named in options, by name or token; an unknown one keeps the probe failing', TIMEOUT, async (t) => {
    noUnhandledRejections(t);
    const byName = await cameraDriver(t, { profile: 'subStream' });
    assert.deepEqual((await byName.driver.perform('info', {}, CMD)).data?.profile, { token: 'Profile_2', name: 'subStream' });
    await byName.driver.perform('snapshot', {}, CMD);
    assert.equal(byName.camera.snapshots[0].profile, 'Profile_2');
    const noPtz = await rejection(byName.driver.perform('ptz', { pan: 0.2, duration_ms: 500 }, CMD));
    assert.ok(noPtz instanceof OnvifError && noPtz.reason === 'not_supported', noPtz.message);

    const missing = await cameraDriver(t, { profile: 'Profile_9' });
    const err = await rejection(missing.driver.read({ priority: 'poll' }));
    assert.ok(err instanceof OnvifError && err.reason === 'unknown_profile');
    assert.match(err.message, /no media profile "Profile_9"; profiles: mainStream \(Profile_1\), subStream \(Profile_2\)/);
  });

  it('snapshot: the JPEG as an image, its size and time as data', TIMEOUT, async (t) => {
    noUnhandledRejections(t);
    const { camera, driver } = await cameraDriver(t);
    const { data, image } = await driver.perform('snapshot', {}, CMD);
    assert.deepEqual(image?.bytes, camera.jpeg);
    assert.equal(image?.contentType, 'image/jpeg');
    assert.deepEqual(data, { content_type: 'image/jpeg', bytes: camera.jpeg.length, taken_at: image?.at });
  });

  it('ptz sends ContinuousMove with a camera-side timeout beyond the move; stop sends Stop', TIMEOUT, async (t) => {
    noUnhandledRejections(t);
    const { camera, driver } = await cameraDriver(t);
    const { data } = await driver.perform('ptz', { pan: -1, tilt: 0.5, duration_ms: 1200 }, CMD);
    assert.deepEqual(data, { pan: -1, tilt: 0.5, zoom: 0, duration_ms: 1200 });
    await driver.perform('stop', {}, CMD);
    assert.deepEqual(camera.ptzCalls.map(({ at: _at, ...c }) => c), [
      { operation: 'ContinuousMove', profile: 'Profile_1', pan: -1, tilt: 0.5, zoom: 0, timeout: 'PT3S' },
      { operation: 'Stop', profile: 'Profile_1', panTilt: true, zoom: true },
    ]);
    const tooFast = await rejection(driver.perform('ptz', { pan: 1.5, duration_ms: 100 }, CMD));
    assert.ok(tooFast instanceof DeviceError && tooFast.notApplied, 'refused before the wire');
    assert.equal(camera.ptzCalls.length, 2);
  });

  it('preset by token, by name, by name in any case; an unknown one is a coded error listing them', TIMEOUT, async (t) => {
    noUnhandledRejections(t);
    const { camera, driver } = await cameraDriver(t);
    assert.deepEqual((await driver.perform('preset', { preset: '1' }, CMD)).data, { preset: { token: '1', name: 'Gate entrance' } });
    assert.deepEqual((await driver.perform('preset', { preset: 'Parking' }, CMD)).data, { preset: { token: '2', name: 'Parking' } });
    await driver.perform('preset', { preset: 'gate ENTRANCE' }, CMD);
    assert.deepEqual(camera.ptzCalls.map((c) => (c.operation === 'GotoPreset' ? c.preset : c.operation)), ['1', '2', '1']);
    const unknown = await rejection(driver.perform('preset', { preset: 'Roof' }, CMD));
    assert.ok(unknown instanceof OnvifError && unknown.reason === 'unknown_preset' && unknown.notApplied);
    assert.equal(unknown.code, 'device_error');
    assert.match(unknown.message, /^unknown_preset: camera has no preset "Roof" on profile Profile_1; presets: Gate entrance \(1\), Parking \(2\)$/);
    assert.equal(camera.ptzCalls.length, 3, 'nothing sent for an unknown preset');
  });

  it('has no outputs and no other actions', TIMEOUT, async (t) => {
    noUnhandledRejections(t);
    const { driver } = await cameraDriver(t);
    assert.deepEqual([driver.outputs, driver.inputs], [[], []]);
    const write = await rejection(driver.write('unlock', true, CMD));
    assert.ok(write instanceof DeviceError && write.notApplied);
    const other = await rejection(driver.perform('reboot', {}, CMD));
    assert.match(other.message, /no action reboot \(actions: info, snapshot, ptz, stop, preset\)/);
  });

  it('preset by name: two presets with that name is an error naming both tokens; nothing moves', TIMEOUT, async (t) => {
    noUnhandledRejections(t);
    const presets = [
      { token: '1', name: 'Gate', pan: 0, tilt: 0, zoom: 0 },
      { token: '2', name: 'Parking', pan: 0.5, tilt: 0, zoom: 0 },
      { token: '3', name: 'Gate', pan: -0.5, tilt: 0, zoom: 0 },
    ];
    const { camera, driver } = await cameraDriver(t, {}, { presets });
    const err = await rejection(driver.perform('preset', { preset: 'Gate' }, CMD));
    assert.ok(err instanceof OnvifError && err.reason === 'unknown_preset', String(err));
    assert.match(err.message, /\b1\b.*\b3\b/);
    assert.equal(camera.ptzCalls.length, 0, 'no GotoPreset sent');
    // A token still picks exactly one.
    assert.deepEqual(await driver.perform('preset', { preset: '3' }, CMD), { data: { preset: { token: '3', name: 'Gate' } } });
  });
});
