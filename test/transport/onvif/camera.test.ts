// The ONVIF transport against the test camera: init through node-onvif (with the camera's clock
// offset), snapshots behind Digest or Basic, PTZ, wrong credentials, a camera going down and back,
// and every way a reply can be bad. Each failure is a coded OnvifError and nothing hangs.
import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import onvif from 'node-onvif';
import { OnvifError } from '../../../src/transport/onvif/access.js';
import { installSoapLayer } from '../../../src/transport/onvif/soap.js';
import type { TestCameraOptions } from '../../../src/simulator/onvif-camera/camera.js';
import { nextEvent, noUnhandledRejections, rejection, startCamera, startTransport } from '../../peers/onvif-camera-fixture.js';
import { until, within } from '../../support/wait.js';

const TIMEOUT = { timeout: 60_000 };
const CMD = { priority: 'command' } as const;
const POLL = { priority: 'poll' } as const;

async function connected(t: TestContext, opts: TestCameraOptions = {}) {
  const camera = await startCamera(t, opts);
  const started = await startTransport(t, camera);
  if (!started.transport.connected) await nextEvent(started.transport, 'up');
  return { camera, ...started };
}

function assertOnvifError(err: unknown, reason: string, code?: string): asserts err is OnvifError {
  assert.ok(err instanceof OnvifError, `expected an OnvifError, got ${String(err)}`);
  assert.equal(err.reason, reason, err.message);
  if (code !== undefined) assert.equal(err.code, code, err.message);
  assert.ok(err.message.startsWith(`${reason}: `), 'the message starts with the reason');
}

describe('ONVIF transport', () => {
  it('initialises: model, firmware, profiles, URIs without credentials', TIMEOUT, async (t) => {
    noUnhandledRejections(t);
    const { camera, transport } = await connected(t, { credentialsInUris: true });
    const info = transport.info()!;
    assert.equal(info.manufacturer, 'Gatehouse Test');
    assert.equal(info.model, 'TC-2 PTZ');
    assert.equal(info.firmware, 'V5.7.3 build 250101');
    assert.equal(info.serialNumber, 'TC2-0001');
    assert.equal(info.session, 1);
    assert.deepEqual(info.profiles.map((p) => [p.token, p.name, p.ptz]), [['Profile_1', 'mainStream', true], ['Profile_2', 'subStream', false]]);
    const port = new URL(camera.xaddr).port;
    assert.equal(info.profiles[0].streamUri, 'rtsp://127.0.0.1:554/Streaming/Channels/101?transportmode=unicast&profile=Profile_1');
    assert.equal(info.profiles[0].snapshotUri, `http://127.0.0.1:${port}/onvif-http/snapshot?Profile_1=`);
    assert.ok(!JSON.stringify(info).includes('secret'), 'no password anywhere in the info');
    // node-onvif's init sequence, in order; the authenticated steps passed the camera's checks.
    const init = camera.calls.map((c) => c.operation).filter((op, i, all) => all.indexOf(op) === i);
    assert.deepEqual(init, ['GetSystemDateAndTime', 'GetCapabilities', 'GetDeviceInformation', 'GetProfiles', 'GetStreamUri', 'GetSnapshotUri']);
    assert.ok(camera.calls.every((c) => c.authorized !== false), 'no request was refused');
  });

  it('takes the camera clock offset into account for the UsernameToken', TIMEOUT, async (t) => {
    noUnhandledRejections(t);
    // A window of 10 s around a clock 300 s ahead: a Created by our own clock would be refused.
    const { camera, transport } = await connected(t, { clockOffsetMs: 300_000, createdWindowMs: 10_000 });
    const offset = transport.info()!.clockOffsetMs;
    assert.ok(Math.abs(offset - 300_000) < 3000, `clock offset ${offset} ms`);
    await transport.presets('Profile_1', CMD);
    assert.deepEqual(camera.authFailures, []);
    const probe = await transport.probe(POLL);
    assert.ok(Math.abs(probe.clockOffsetMs - 300_000) < 3000);
  });

  it('fetches the snapshot behind HTTP Digest, and behind Basic', TIMEOUT, async (t) => {
    noUnhandledRejections(t);
    const digest = await connected(t);
    const shot = await digest.transport.snapshot('Profile_1', CMD);
    assert.deepEqual(shot.bytes, digest.camera.jpeg);
    assert.equal(shot.contentType, 'image/jpeg');
    assert.equal(shot.auth, 'digest');
    assert.deepEqual(digest.camera.snapshots.map((s) => [s.profile, s.auth]), [['Profile_1', 'digest']]);

    const basic = await connected(t, { snapshotAuth: 'basic' });
    const shot2 = await basic.transport.snapshot('Profile_2', CMD);
    assert.deepEqual(shot2.bytes, basic.camera.jpeg);
    assert.equal(shot2.auth, 'basic');
    assert.deepEqual(basic.camera.snapshots.map((s) => [s.profile, s.auth]), [['Profile_2', 'basic']]);
  });

  it('answers a camera that wants HTTP Digest on SOAP (ONVIF Core 5.9.1) instead of the UsernameToken', TIMEOUT, async (t) => {
    noUnhandledRejections(t);
    const { camera, transport } = await connected(t, { soapAuth: 'http-digest' });
    assert.equal(transport.info()!.model, 'TC-2 PTZ');
    await transport.gotoPreset('Profile_1', '1', CMD);
    const protectedCalls = camera.calls.filter((c) => c.authorized !== null);
    assert.ok(protectedCalls.some((c) => c.authorized), 'digest accepted');
    assert.deepEqual(camera.authFailures, [], 'no digest was refused; only first tries without one were challenged');
    camera.setPassword('rotated');
    const refused = await rejection(transport.presets('Profile_1', CMD));
    assertOnvifError(refused, 'not_authorized');
    assert.match(refused.message, /HTTP 401 Unauthorized; the camera refused HTTP digest authentication/);
  });

  it('moves, stops, lists presets and goes to one', TIMEOUT, async (t) => {
    noUnhandledRejections(t);
    const { camera, transport } = await connected(t);
    await transport.continuousMove('Profile_1', { pan: 0.5, tilt: -0.25, zoom: 0 }, { ...CMD, timeoutS: 3 });
    await transport.stopMove('Profile_1', CMD);
    assert.deepEqual(await transport.presets('Profile_1', CMD), [{ token: '1', name: 'Gate entrance' }, { token: '2', name: 'Parking' }]);
    await transport.gotoPreset('Profile_1', '2', CMD);
    assert.deepEqual(camera.ptzCalls.map(({ at: _at, ...c }) => c), [
      { operation: 'ContinuousMove', profile: 'Profile_1', pan: 0.5, tilt: -0.25, zoom: 0, timeout: 'PT3S' },
      { operation: 'Stop', profile: 'Profile_1', panTilt: true, zoom: true },
      { operation: 'GotoPreset', profile: 'Profile_1', preset: '2' },
    ]);
    const noPtz = await rejection(transport.stopMove('Profile_2', CMD));
    assertOnvifError(noPtz, 'not_supported', 'device_error');
    assert.equal(noPtz.notApplied, true);
    const unknown = await rejection(transport.gotoPreset('Profile_1', '42', CMD));
    assertOnvifError(unknown, 'soap_fault');
    assert.equal(unknown.faultSubcode, 'ter:NoToken');
  });

  it('wrong password: a coded error, never up; up once the camera takes the password again', TIMEOUT, async (t) => {
    noUnhandledRejections(t);
    const camera = await startCamera(t, { password: 'changed' });
    const { transport, log } = await startTransport(t, camera);
    await until('two failed inits', () => camera.authFailures.length >= 2);
    assert.equal(transport.connected, false);
    assertOnvifError(transport.lastError, 'not_authorized');
    assert.match(transport.lastError.message, /ter:NotAuthorized/);
    const refused = await rejection(transport.probe(POLL));
    assertOnvifError(refused, 'unreachable', 'offline');
    assert.equal(refused.notApplied, true);
    assert.equal(log.entries.filter((e) => e.level === 'warn' && e.msg === 'camera init failed; retrying with backoff').length, 1, 'the outage is logged once');
    camera.setPassword('secret');
    await nextEvent(transport, 'up');
    assert.equal(transport.info()!.session, 1);
  });

  it('camera down: the session ends, requests fail offline at once, it comes back after up()', TIMEOUT, async (t) => {
    noUnhandledRejections(t);
    const { camera, transport } = await connected(t);
    await camera.down();
    const down = nextEvent(transport, 'down');
    const lost = await rejection(transport.probe(POLL));
    assertOnvifError(lost, 'unreachable', 'offline');
    await down;
    assert.equal(transport.connected, false);
    assertOnvifError(await rejection(transport.snapshot('Profile_1', CMD)), 'unreachable', 'offline');
    await camera.up();
    await nextEvent(transport, 'up');
    assert.equal(transport.info()!.session, 2, 'a fresh session');
    await transport.probe(POLL);
  });

  it('a camera that does not answer: timeout, session set up again; stop() ends a pending request', TIMEOUT, async (t) => {
    noUnhandledRejections(t);
    const camera = await startCamera(t);
    const { transport } = await startTransport(t, camera, { timeoutMs: 300 });
    if (!transport.connected) await nextEvent(transport, 'up');
    camera.misbehave('ContinuousMove', { kind: 'delay', ms: Infinity });
    const down = nextEvent(transport, 'down');
    const late = await rejection(transport.continuousMove('Profile_1', { pan: 0.1, tilt: 0, zoom: 0 }, CMD));
    assertOnvifError(late, 'timeout', 'timeout');
    await down;
    await nextEvent(transport, 'up');
    const pending = transport.continuousMove('Profile_1', { pan: 0.1, tilt: 0, zoom: 0 }, { ...CMD, timeoutMs: 60_000 });
    await until('the move reached the camera', () => camera.callsOf('ContinuousMove').length >= 2);
    await within(transport.stop(), 'the transport to stop');
    assertOnvifError(await rejection(pending), 'unreachable', 'offline');
  });

  it('a slow init is bounded by init_timeout_ms and retried', TIMEOUT, async (t) => {
    noUnhandledRejections(t);
    const camera = await startCamera(t);
    camera.misbehave('GetProfiles', { kind: 'delay', ms: Infinity });
    const { transport } = await startTransport(t, camera, { timeoutMs: 60_000, initTimeoutMs: 1000 });
    await until('init gave up', () => transport.lastError);
    assertOnvifError(transport.lastError, 'timeout', 'timeout');
    camera.behave();
    await nextEvent(transport, 'up');
  });

  it('malformed replies, SOAP faults and huge bodies are coded errors; the session stays', TIMEOUT, async (t) => {
    noUnhandledRejections(t);
    const { camera, transport } = await connected(t);
    const cases: [Parameters<typeof camera.misbehave>[1], string, RegExp][] = [
      [{ kind: 'malformed', variant: 'truncated' }, 'bad_reply', /not well-formed XML/],
      [{ kind: 'malformed', variant: 'not-xml' }, 'bad_reply', /not well-formed XML/],
      [{ kind: 'malformed', variant: 'wrong-response' }, 'bad_reply', /no GetPresetsResponse \(has GetHostnameResponse\)/],
      [{ kind: 'fault', code: 'Receiver', subcodes: ['ter:Action', 'ter:PTZNotSupported'], reason: 'busy' }, 'soap_fault', /env:Receiver \/ ter:Action \/ ter:PTZNotSupported \(HTTP 500\): busy/],
      [{ kind: 'fault', code: 'Sender', subcodes: ['ter:NotAuthorized'], reason: 'Sender not Authorized', status: 401 }, 'not_authorized', /HTTP 401/],
      [{ kind: 'huge', bytes: 2 * 1024 * 1024 }, 'body_too_large', /limit of 262144 bytes/],
      [{ kind: 'huge', bytes: 2 * 1024 * 1024, declareLength: true }, 'body_too_large', /reply of 2097152 bytes/],
    ];
    for (const [how, reason, message] of cases) {
      camera.misbehave('GetPresets', how);
      const err = await rejection(transport.presets('Profile_1', CMD));
      assertOnvifError(err, reason);
      assert.match(err.message, message);
      camera.behave();
      if (reason === 'not_authorized') await nextEvent(transport, 'up');
      else assert.equal(transport.connected, true, `${reason} does not end the session`);
    }
    await transport.presets('Profile_1', CMD);
  });

  it('bad snapshots: not an image, too large, wrong credentials', TIMEOUT, async (t) => {
    noUnhandledRejections(t);
    const { camera, transport } = await connected(t);
    camera.misbehave('snapshot', { kind: 'malformed', variant: 'not-xml' });
    assertOnvifError(await rejection(transport.snapshot('Profile_1', CMD)), 'bad_reply');
    camera.misbehave('snapshot', { kind: 'huge', bytes: 4 * 1024 * 1024 });
    assertOnvifError(await rejection(transport.snapshot('Profile_1', CMD)), 'body_too_large');
    camera.misbehave('snapshot', { kind: 'fault', code: 'Receiver', subcodes: [], reason: 'encoder busy', status: 503 });
    const busy = await rejection(transport.snapshot('Profile_1', CMD));
    assertOnvifError(busy, 'http_status');
    assert.match(busy.message, /HTTP 503/);
    camera.behave();
    camera.setPassword('rotated');
    const refused = await rejection(transport.snapshot('Profile_1', CMD));
    assertOnvifError(refused, 'not_authorized');
    assert.match(refused.message, /HTTP digest authentication/);
    assert.equal(camera.snapshots.length, 0);
  });

  it('an init step answered with bad XML fails the init with bad_reply', TIMEOUT, async (t) => {
    noUnhandledRejections(t);
    const camera = await startCamera(t);
    camera.misbehave('GetDeviceInformation', { kind: 'malformed', variant: 'truncated' });
    const { transport } = await startTransport(t, camera);
    await until('init failed', () => transport.lastError);
    assertOnvifError(transport.lastError, 'bad_reply');
    assert.match(transport.lastError.message, /GetDeviceInformation/);
    camera.behave();
    await nextEvent(transport, 'up');
  });

  it('refuses node-onvif requests made outside a transport (they would have no limits)', TIMEOUT, async (t) => {
    noUnhandledRejections(t);
    const camera = await startCamera(t);
    installSoapLayer();
    const device = new onvif.OnvifDevice({ xaddr: camera.xaddr, user: 'admin', pass: 'secret' });
    const err = await rejection(device.init());
    assert.match(err.message, /outside an ONVIF transport/);
    assert.equal(camera.calls.length, 0, 'nothing reached the camera');
  });

  it('a camera clock 300 s behind ours: the UsernameToken is dated by the camera clock', TIMEOUT, async (t) => {
    noUnhandledRejections(t);
    const { camera, transport } = await connected(t, { clockOffsetMs: -300_000, createdWindowMs: 10_000 });
    const offset = transport.info()!.clockOffsetMs;
    assert.ok(Math.abs(offset + 300_000) < 3000, `clock offset ${offset} ms`);
    await transport.presets('Profile_1', CMD);
    await transport.gotoPreset('Profile_1', '1', CMD);
    assert.deepEqual(camera.authFailures, []);
  });

  it('the camera clock moves after init (NTP sync): the probe sees it and PTZ requests keep authenticating', TIMEOUT, async (t) => {
    noUnhandledRejections(t);
    const { camera, transport } = await connected(t, { createdWindowMs: 10_000 });
    camera.setClockOffset(300_000);
    const probe = await transport.probe(POLL);
    assert.ok(Math.abs(probe.clockOffsetMs - 300_000) < 3000, `probe offset ${probe.clockOffsetMs}`);
    await transport.presets('Profile_1', CMD);
    assert.deepEqual(camera.authFailures, [], 'the request after the probe used the camera clock the probe measured');
    assert.equal(transport.connected, true);
  });

  it('GetSystemDateAndTime across a month end: our clock on 31 January, the camera two minutes ahead on 1 February: an offset of two minutes, not four weeks', TIMEOUT, async (t) => {
    noUnhandledRejections(t);
    // Only Date is faked (timers stay real): node-onvif builds the camera's time from `new Date()`.
    t.mock.timers.enable({ apis: ['Date'], now: Date.UTC(2026, 0, 31, 23, 59, 0) });
    const { camera, transport } = await connected(t, { clockOffsetMs: 120_000, createdWindowMs: 10_000 });
    const offset = transport.info()!.clockOffsetMs;
    assert.ok(Math.abs(offset - 120_000) < 3000, `clock offset ${offset} ms`);
    await transport.presets('Profile_1', CMD);
    assert.deepEqual(camera.authFailures, []);
  });

  it('credentials under other query names (loginuse/loginpas) never reach the URIs in the info', TIMEOUT, async (t) => {
    noUnhandledRejections(t);
    const { transport } = await connected(t, { credentialsInUris: true, uriCredentialParams: ['loginuse', 'loginpas'] });
    const info = transport.info()!;
    const text = JSON.stringify(info);
    assert.ok(!text.includes('secret'), `password in the info: ${text}`);
    assert.ok(info.profiles[0].snapshotUri.includes('/onvif-http/snapshot'), info.profiles[0].snapshotUri);
    // And the snapshot itself still works (the camera's own URI is used on the wire).
    await transport.snapshot('Profile_1', CMD);
  });
});
