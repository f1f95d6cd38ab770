// `gatehouse probe onvif` against the simulated camera over real HTTP: device facts, profiles,
// snapshot URIs without credentials, PTZ and presets, the event service (or its absence), a wrong
// password and an address where nothing listens. The event topics' reading is checked against a
// GetEventPropertiesResponse as ONVIF Core's example writes it, served by a small HTTP peer.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { topicsOf } from '../../src/commissioning/onvif-event-properties.js';
import { TestOnvifCamera } from '../../src/simulator/onvif-camera/camera.js';
import { runCli } from '../support/cli-process.js';
import { freePort } from '../support/ports.js';

const USER = 'installer';
const PASSWORD = 'cam-pass-42';

function probe(args: string[], env: Record<string, string> = {}) {
  return runCli(['probe', 'onvif', ...args], { env });
}

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
    assert.ok(['present', 'absent'].includes(report.events.service), JSON.stringify(report.events));
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
    assert.match(run.stdout, /\nevents    /);
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

/** ONVIF Core 2.x section 9.5 (Get event properties), trimmed: three topics, one with a deeper path. */
const EVENT_PROPERTIES = `<?xml version="1.0" encoding="UTF-8"?>
<env:Envelope xmlns:env="http://www.w3.org/2003/05/soap-envelope" xmlns:tev="http://www.onvif.org/ver10/events/wsdl"
  xmlns:wstop="http://docs.oasis-open.org/wsn/t-1" xmlns:tt="http://www.onvif.org/ver10/schema" xmlns:tns1="http://www.onvif.org/ver10/topics"
  xmlns:wsnt="http://docs.oasis-open.org/wsn/b-2" xmlns:xsd="http://www.w3.org/2001/XMLSchema"><env:Body><tev:GetEventPropertiesResponse>
<tev:TopicNamespaceLocation>http://www.onvif.org/onvif/ver10/topics/topicns.xml</tev:TopicNamespaceLocation>
<wsnt:FixedTopicSet>true</wsnt:FixedTopicSet>
<wstop:TopicSet>
  <tns1:VideoSource><MotionAlarm wstop:topic="true"><tt:MessageDescription IsProperty="true">
    <tt:Source><tt:SimpleItemDescription Name="Source" Type="tt:ReferenceToken"/></tt:Source>
    <tt:Data><tt:SimpleItemDescription Name="State" Type="xsd:boolean"/></tt:Data></tt:MessageDescription></MotionAlarm></tns1:VideoSource>
  <tns1:RuleEngine><CellMotionDetector><Motion wstop:topic="true"><tt:MessageDescription IsProperty="true">
    <tt:Source><tt:SimpleItemDescription Name="VideoSourceConfigurationToken" Type="tt:ReferenceToken"/>
      <tt:SimpleItemDescription Name="Rule" Type="xsd:string"/></tt:Source>
    <tt:Data><tt:SimpleItemDescription Name="IsMotion" Type="xsd:boolean"/></tt:Data></tt:MessageDescription></Motion></CellMotionDetector>
    <TamperDetector><Tamper wstop:topic="true"/></TamperDetector></tns1:RuleEngine>
</wstop:TopicSet>
<tev:TopicExpressionDialect>http://www.onvif.org/ver10/tev/topicExpression/ConcreteSet</tev:TopicExpressionDialect>
</tev:GetEventPropertiesResponse></env:Body></env:Envelope>`;

test('the event topics of a GetEventPropertiesResponse, with the simple items each carries', () => {
  assert.deepEqual(topicsOf(EVENT_PROPERTIES), [
    { topic: 'tns1:VideoSource/MotionAlarm', source: ['Source'], data: ['State'] },
    { topic: 'tns1:RuleEngine/CellMotionDetector/Motion', source: ['VideoSourceConfigurationToken', 'Rule'], data: ['IsMotion'] },
    { topic: 'tns1:RuleEngine/TamperDetector/Tamper', source: [], data: [] },
  ]);
  assert.throws(() => topicsOf(EVENT_PROPERTIES.slice(0, 600)), /bad_reply: GetEventProperties: reply is not well-formed XML/);
  const deep = `<a xmlns:wstop="http://docs.oasis-open.org/wsn/t-1"><wstop:TopicSet>${'<x>'.repeat(200)}<y wstop:topic="true"/>${'</x>'.repeat(200)}</wstop:TopicSet></a>`;
  assert.deepEqual(topicsOf(deep), [], 'a topic nested past the depth limit is not read');
});

describe('a camera whose event service answers', () => {
  // The simulated camera behind a small HTTP proxy that serves the event service itself: the
  // camera's replies are passed on with its address rewritten to the proxy's, so GetCapabilities
  // sends the probe to the proxy for events as for everything else.
  const camera = new TestOnvifCamera({ user: USER, password: PASSWORD });
  let proxy: Server;
  let xaddr = '';
  const eventRequests: string[] = [];
  before(async () => {
    await camera.start();
    const cameraBase = new URL(camera.xaddr).origin;
    let proxyBase = '';
    proxy = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', async () => {
        const body = Buffer.concat(chunks);
        if (req.url === '/onvif/event_service') {
          eventRequests.push(body.toString());
          res.writeHead(200, { 'content-type': 'application/soap+xml; charset=utf-8' }).end(EVENT_PROPERTIES);
          return;
        }
        const reply = await fetch(`${cameraBase}${req.url}`, { method: req.method, headers: { 'content-type': String(req.headers['content-type'] ?? '') }, body: req.method === 'POST' ? body : undefined });
        const text = (await reply.text()).split(cameraBase).join(proxyBase);
        res.writeHead(reply.status, { 'content-type': reply.headers.get('content-type') ?? 'application/soap+xml' }).end(text);
      });
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    proxyBase = `http://127.0.0.1:${(proxy.address() as { port: number }).port}`;
    xaddr = `${proxyBase}/onvif/device_service`;
  });
  after(async () => {
    await new Promise<void>((resolve) => proxy.close(() => resolve()));
    await camera.stop();
  });

  test('its topics are listed, asked for with the WS-Security UsernameToken', async () => {
    const run = await probe([xaddr, '--user', USER, '--password', PASSWORD]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(
      run.stdout,
      new RegExp(
        [
          `\nevents    3 topics at ${xaddr.replace('device_service', 'event_service').replace(/[.?]/g, '\\$&')}`,
          '  tns1:VideoSource/MotionAlarm \\(source Source; data State\\)',
          '  tns1:RuleEngine/CellMotionDetector/Motion \\(source VideoSourceConfigurationToken, Rule; data IsMotion\\)',
          '  tns1:RuleEngine/TamperDetector/Tamper\\n$',
        ].join('\\n'),
      ),
    );
    assert.equal(eventRequests.length, 1);
    assert.match(eventRequests[0], /<tev:GetEventProperties\/>/);
    assert.match(eventRequests[0], new RegExp(`<Username>${USER}</Username>`));
  });
});
