// `gatehouse probe onvif` against the simulated camera over real HTTP: device facts, profiles,
// snapshot URIs without credentials, PTZ and presets, the event topics the camera's event service
// lists (or why there are none: no service, a fault, a reply that cannot be read), a wrong password
// and an address where nothing listens. How a TopicSet is read: test/transport/onvif/events-soap.test.ts.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { TestOnvifCamera, type Misbehaviour, type TestCameraOptions } from '../../src/simulator/onvif-camera/camera.js';
import { runCli } from '../support/cli-process.js';
import { freePort } from '../support/ports.js';

const USER = 'installer';
const PASSWORD = 'cam-pass-42';

function probe(args: string[], env: Record<string, string> = {}) {
  return runCli(['probe', 'onvif', ...args], { env });
}

const escape = (text: string) => text.replace(/[.?()]/g, '\\$&');
const eventService = (camera: TestOnvifCamera) => camera.xaddr.replace('/device_service', '/event_service');

/** The simulated camera's topics (src/simulator/onvif-camera/events.ts), as the probe lists them. */
const SIMULATED_TOPICS = [
  '  tns1:VideoSource/MotionAlarm (source Source; data State)',
  '  tns1:RuleEngine/CellMotionDetector/Motion (source VideoSourceConfigurationToken, VideoAnalyticsConfigurationToken, Rule; data IsMotion)',
  '  tns1:RuleEngine/TamperDetector/Tamper (source VideoSourceConfigurationToken, VideoAnalyticsConfigurationToken, Rule; data IsTamper)',
  '  tns1:VideoSource/GlobalSceneChange/ImagingService (source Source; data State)',
  '  tns1:Device/Trigger/DigitalInput (source InputToken; data LogicalState)',
];

describe('the simulated camera', () => {
  const camera = new TestOnvifCamera({ user: USER, password: PASSWORD, credentialsInUris: true, clockOffsetMs: 0 });
  before(() => camera.start());
  after(() => camera.stop());

  test('device info, profiles, snapshot URIs without the password, PTZ with its presets', async () => {
    const run = await probe([camera.xaddr, '--user', USER, '--password', PASSWORD, '--json']);
    assert.equal(run.code, 0, run.stderr);
    assert.ok(!run.stdout.includes(PASSWORD), `no password in the output:\n${run.stdout}`);
    const report = JSON.parse(run.stdout);
    assert.equal(report.xaddr, camera.xaddr);
    assert.deepEqual(Object.keys(report.device).sort(), ['firmware', 'hardwareId', 'manufacturer', 'model', 'serialNumber']);
    assert.ok(report.device.manufacturer.length > 0 && report.device.model.length > 0, JSON.stringify(report.device));
    assert.deepEqual(report.profiles.map((p: { token: string; ptz: boolean }) => [p.token, p.ptz]), [['Profile_1', true], ['Profile_2', false]]);
    for (const p of report.profiles) {
      const uri = new URL(p.snapshotUri);
      assert.equal(uri.pathname, '/onvif-http/snapshot');
      assert.equal(uri.username, '');
      assert.equal(uri.searchParams.get('pwd'), null, p.snapshotUri);
      assert.equal(uri.searchParams.get('user'), null, p.snapshotUri);
    }
    assert.equal(report.ptz, true);
    assert.deepEqual(report.profiles[0].presets, [{ token: '1', name: 'Gate entrance' }, { token: '2', name: 'Parking' }]);
    assert.equal(report.profiles[1].presets, undefined);
    assert.equal(report.events.service, 'present', JSON.stringify(report.events));
    assert.equal(report.events.xaddr, eventService(camera));
    assert.deepEqual(report.events.topics[0], { topic: 'tns1:VideoSource/MotionAlarm', source: ['Source'], data: ['State'] });
    assert.equal(report.events.topics.length, SIMULATED_TOPICS.length);
  });

  test('the text form, with the password from the environment (and a word saying so)', async () => {
    const run = await probe([camera.xaddr, '--user', USER], { GATEHOUSE_ONVIF_PASSWORD: PASSWORD });
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stderr, 'gatehouse probe: password from $GATEHOUSE_ONVIF_PASSWORD\n');
    assert.ok(!run.stdout.includes(PASSWORD));
    assert.match(run.stdout, new RegExp(`^onvif ${camera.xaddr.replace(/[.?]/g, '\\$&')}\ndevice    \\S`));
    assert.match(run.stdout, /\nptz       yes \(profiles Profile_1\)\n/);
    assert.match(run.stdout, /\n  Profile_1 "mainStream" \(ptz\)\n    stream    rtsp:\/\/\S+\n    snapshot  http:\/\/127\.0\.0\.1:\d+\/onvif-http\/snapshot\S*\n    presets   1 "Gate entrance", 2 "Parking"\n/);
    assert.match(run.stdout, /\n  Profile_2 "subStream"\n/);
    // The topics the camera's event service lists, asked for with the WS-Security UsernameToken.
    assert.ok(run.stdout.endsWith(`\nevents    5 topics at ${eventService(camera)}\n${SIMULATED_TOPICS.join('\n')}\n`), run.stdout);
    assert.ok(camera.callsOf('GetEventProperties').length > 0 && camera.callsOf('GetEventProperties').every((c) => c.authorized === true), JSON.stringify(camera.callsOf('GetEventProperties')));
  });

  test('a wrong password: the camera refused the credentials, exit 1', async () => {
    const run = await probe([camera.xaddr, '--user', USER, '--password', 'not-the-password']);
    assert.equal(run.code, 1);
    assert.equal(run.stdout, '');
    assert.match(run.stderr, new RegExp(`^gatehouse probe: camera at ${camera.xaddr.replace(/[.?]/g, '\\$&')} could not be set up: not_authorized: .*check user, password`));
    assert.ok(!run.stderr.includes('not-the-password'));
  });
});

test('an address where nothing listens: unreachable, named', async () => {
  const port = await freePort();
  const xaddr = `http://127.0.0.1:${port}/onvif/device_service`;
  const run = await probe([xaddr, '--user', USER, '--password', PASSWORD, '--timeout', '2000']);
  assert.equal(run.code, 1);
  assert.match(run.stderr, new RegExp(`^gatehouse probe: camera at ${xaddr.replace(/[.?]/g, '\\$&')} could not be set up: unreachable: .*ECONNREFUSED`));
});

test('bad input: each mistake named, exit 2', async () => {
  const cases: [string[], Record<string, string>, RegExp][] = [
    [['ftp://127.0.0.1/onvif/device_service'], {}, /the address: must be the camera's device service URL/],
    [['http://admin:pw@127.0.0.1/onvif/device_service'], {}, /the address: .*without credentials/],
    [['http://127.0.0.1/onvif/device_service', '--password', 'x'], {}, /a password needs --user/],
    [['http://127.0.0.1/onvif/device_service'], { GATEHOUSE_ONVIF_PASSWORD: 'x' }, /a password \(from \$GATEHOUSE_ONVIF_PASSWORD\) needs --user/],
    [['http://127.0.0.1/onvif/device_service', '--user', 'admin'], {}, /--password: required with a user/],
    [['http://127.0.0.1/onvif/device_service', '--user', 'a<b', '--password', 'x'], {}, /--user: must be printable ASCII/],
    [['http://127.0.0.1/onvif/device_service', '--read', 'coils:0:1'], {}, /--read is for probe modbus/],
    [['http://127.0.0.1/onvif/device_service', '--timeout', '10'], {}, /--timeout: .*100/],
  ];
  for (const [args, env, expected] of cases) {
    const run = await probe(args, env);
    assert.equal(run.code, 2, `${args.join(' ')}: ${run.stderr}`);
    assert.equal(run.stdout, '');
    assert.match(run.stderr, expected, args.join(' '));
  }
});

describe('the event service, or why there is nothing to list', () => {
  const cameras: TestOnvifCamera[] = [];
  async function started(opts: TestCameraOptions): Promise<TestOnvifCamera> {
    const camera = new TestOnvifCamera({ user: USER, password: PASSWORD, ...opts });
    cameras.push(camera);
    await camera.start();
    return camera;
  }
  async function eventsOf(camera: TestOnvifCamera) {
    const run = await probe([camera.xaddr, '--user', USER, '--password', PASSWORD, '--json']);
    assert.equal(run.code, 0, run.stderr);
    return JSON.parse(run.stdout).events as { service: string; reason?: string; topics?: unknown[] };
  }
  after(async () => {
    for (const camera of cameras) await camera.stop();
  });

  test('a camera that asks for HTTP Digest instead of the UsernameToken: its topics are listed', async () => {
    const camera = await started({ soapAuth: 'http-digest' });
    const events = await eventsOf(camera);
    assert.equal(events.service, 'present', JSON.stringify(events));
    assert.equal(events.topics?.length, SIMULATED_TOPICS.length);
  });

  test('a camera without an event service: none, and why', async () => {
    const run = await probe([(await started({ events: false })).xaddr, '--user', USER, '--password', PASSWORD]);
    assert.equal(run.code, 0, run.stderr);
    assert.ok(run.stdout.endsWith('\nevents    none: the camera lists no event service (GetCapabilities has no Events XAddr)\n'), run.stdout);
  });

  test('an event service that does not do GetEventProperties is none; a fault or a reply that cannot be read is named', async () => {
    const camera = await started({});
    const service = escape(eventService(camera));
    camera.misbehave('GetEventProperties', { kind: 'fault', code: 'Receiver', subcodes: ['ter:ActionNotSupported'], reason: 'not here' });
    const unsupported = await eventsOf(camera);
    assert.equal(unsupported.service, 'absent');
    assert.match(unsupported.reason!, new RegExp(`^the camera lists an event service at ${service} but it does not answer GetEventProperties \\(not_supported: GetEventProperties at ${service}: SOAP fault env:Receiver / ter:ActionNotSupported \\(HTTP 500\\): not here\\)$`));

    const cases: [Misbehaviour, RegExp][] = [
      [{ kind: 'fault', code: 'Sender', subcodes: ['ter:InvalidArgVal'], reason: 'busy' }, new RegExp(`^soap_fault: GetEventProperties at ${service}: SOAP fault env:Sender / ter:InvalidArgVal \\(HTTP 400\\): busy$`)],
      [{ kind: 'malformed', variant: 'truncated' }, new RegExp(`^bad_reply: GetEventProperties at ${service}: reply is not well-formed XML`)],
      [{ kind: 'raw', body: `${'<x>'.repeat(100)}${'</x>'.repeat(100)}` }, new RegExp(`^bad_reply: GetEventProperties at ${service}: reply is nested deeper than 32 elements$`)],
    ];
    for (const [how, reason] of cases) {
      camera.misbehave('GetEventProperties', how);
      const events = await eventsOf(camera);
      assert.equal(events.service, 'error', JSON.stringify(how));
      assert.match(events.reason!, reason);
    }
    const run = await probe([camera.xaddr, '--user', USER, '--password', PASSWORD]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /\nevents    could not be read: bad_reply: .* reply is nested deeper than 32 elements\n$/);
  });
});
