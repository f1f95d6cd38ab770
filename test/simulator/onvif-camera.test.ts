// The simulated ONVIF camera (src/simulator/onvif-camera/) on its own, spoken to with hand-built
// requests (not node-onvif), so that what it checks is what the specs say: WS-Security
// UsernameToken digest and Created window, PRE_AUTH operations, SOAP 1.2 faults, HTTP Digest on
// the snapshot URI.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { describe, it } from 'node:test';
import { HttpAuthCheck, NS } from '../../src/simulator/onvif-camera/auth.js';
import { authorization, parseChallenges } from '../../src/transport/onvif/http-auth.js';
import { parseDuration } from '../../src/simulator/onvif-camera/camera.js';
import { startCamera } from '../peers/onvif-camera-fixture.js';
import { within } from '../support/wait.js';
import { tinyJpeg } from '../../src/simulator/onvif-camera/tiny-jpeg.js';
import { child, childText, parseXml } from '../../src/simulator/onvif-camera/xml-tree.js';

const TIMEOUT = { timeout: 30_000 };

function usernameToken(user: string, password: string, created: string, nonce = randomBytes(16)): string {
  // WS-Security UsernameToken Profile 1.0 section 3.1: Base64(SHA-1(nonce + created + password)).
  const digest = createHash('sha1').update(Buffer.concat([nonce, Buffer.from(created), Buffer.from(password)])).digest('base64');
  return (
    `<wsse:Security xmlns:wsse="${NS.wsse}" xmlns:wsu="${NS.wsu}" s:mustUnderstand="1"><wsse:UsernameToken>` +
    `<wsse:Username>${user}</wsse:Username>` +
    `<wsse:Password Type="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordDigest">${digest}</wsse:Password>` +
    `<wsse:Nonce EncodingType="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-1.0#Base64Binary">${nonce.toString('base64')}</wsse:Nonce>` +
    `<wsu:Created>${created}</wsu:Created></wsse:UsernameToken></wsse:Security>`
  );
}

async function soap(url: string, body: string, header = '', envelopeNs: string = NS.soap) {
  const xml = `<?xml version="1.0" encoding="UTF-8"?><s:Envelope xmlns:s="${envelopeNs}" xmlns:tds="${NS.tds}" xmlns:trt="${NS.trt}" xmlns:tptz="${NS.tptz}" xmlns:tt="${NS.tt}"><s:Header>${header}</s:Header><s:Body>${body}</s:Body></s:Envelope>`;
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/soap+xml; charset=utf-8' }, body: xml, signal: AbortSignal.timeout(10_000) });
  const text = await res.text();
  return { status: res.status, contentType: res.headers.get('content-type'), doc: parseXml(text) };
}

/** The fault's Code/Value and Subcode/Values, innermost last. */
function faultCodes(doc: ReturnType<typeof parseXml>): string[] {
  let code = child(child(child(doc, NS.soap, 'Body'), NS.soap, 'Fault'), NS.soap, 'Code');
  const values: string[] = [];
  while (code) {
    values.push(childText(code, NS.soap, 'Value') ?? '');
    code = child(code, NS.soap, 'Subcode');
  }
  return values;
}

function responseOf(doc: ReturnType<typeof parseXml>) {
  return child(doc, NS.soap, 'Body')?.children[0];
}

describe('test ONVIF camera', () => {
  it('answers GetSystemDateAndTime without credentials, with its own (offset) clock', TIMEOUT, async (t) => {
    const camera = await startCamera(t, { clockOffsetMs: 300_000 });
    const before = Date.now();
    const { status, doc } = await soap(camera.xaddr, '<tds:GetSystemDateAndTime/>');
    assert.equal(status, 200);
    const utc = child(child(responseOf(doc), NS.tds, 'SystemDateAndTime'), NS.tt, 'UTCDateTime');
    const time = child(utc, NS.tt, 'Time');
    const date = child(utc, NS.tt, 'Date');
    const n = (e: typeof time, name: string) => Number(childText(e, NS.tt, name));
    const told = Date.UTC(n(date, 'Year'), n(date, 'Month') - 1, n(date, 'Day'), n(time, 'Hour'), n(time, 'Minute'), n(time, 'Second'));
    const offset = told - before;
    assert.ok(offset > 295_000 && offset < 305_000, `camera clock is ${offset} ms ahead`);
    assert.deepEqual(camera.calls.map((c) => [c.operation, c.authorized]), [['GetSystemDateAndTime', null]]);
  });

  it('wants a UsernameToken whose digest and Created (by its own clock) are right, each nonce once', TIMEOUT, async (t) => {
    const camera = await startCamera(t, { clockOffsetMs: 300_000 });
    const cameraTime = () => new Date(camera.now()).toISOString();

    const none = await soap(camera.xaddr, '<tds:GetDeviceInformation/>');
    assert.equal(none.status, 400);
    assert.deepEqual(faultCodes(none.doc), ['env:Sender', 'ter:NotAuthorized']);

    const nonce = randomBytes(16);
    const good = await soap(camera.xaddr, '<tds:GetDeviceInformation/>', usernameToken('admin', 'secret', cameraTime(), nonce));
    assert.equal(good.status, 200);
    assert.equal(childText(responseOf(good.doc), NS.tds, 'Model'), 'TC-2 PTZ');

    const replay = await soap(camera.xaddr, '<tds:GetDeviceInformation/>', usernameToken('admin', 'secret', cameraTime(), nonce));
    assert.deepEqual(faultCodes(replay.doc), ['env:Sender', 'ter:NotAuthorized']);

    const ourClock = await soap(camera.xaddr, '<tds:GetDeviceInformation/>', usernameToken('admin', 'secret', new Date().toISOString()));
    assert.deepEqual(faultCodes(ourClock.doc), ['env:Sender', 'ter:NotAuthorized'], 'Created by our clock is 300 s off the camera clock');

    const wrong = await soap(camera.xaddr, '<tds:GetDeviceInformation/>', usernameToken('admin', 'guess', cameraTime()));
    assert.deepEqual(faultCodes(wrong.doc), ['env:Sender', 'ter:NotAuthorized']);

    const why = camera.authFailures.map((f) => f.why);
    assert.equal(why.length, 4);
    assert.equal(why[0], 'no wsse:Security/wsse:UsernameToken in the Header');
    assert.equal(why[1], 'nonce used before (replay)');
    assert.match(why[2], /^wsu:Created \S+ is -(299|300|301) s from the camera clock/);
    assert.equal(why[3], 'password digest does not match');
  });

  it('answers protocol errors with the SOAP 1.2 and ONVIF faults', TIMEOUT, async (t) => {
    const camera = await startCamera(t);
    const unknown = await soap(camera.xaddr, '<tds:GetZoneOfTheMoon/>');
    assert.equal(unknown.status, 500);
    assert.deepEqual(faultCodes(unknown.doc), ['env:Receiver', 'ter:ActionNotSupported']);

    const wrongService = await soap(camera.xaddr, '<trt:GetProfiles/>');
    assert.deepEqual(faultCodes(wrongService.doc), ['env:Receiver', 'ter:ActionNotSupported'], 'a media operation sent to the device service');

    const soap11 = await soap(camera.xaddr, '<tds:GetSystemDateAndTime/>', '', 'http://schemas.xmlsoap.org/soap/envelope/');
    assert.deepEqual(faultCodes(soap11.doc), ['env:VersionMismatch']);

    const res = await fetch(camera.xaddr, { method: 'POST', body: '<s:Envelope><unclosed>', signal: AbortSignal.timeout(10_000) });
    const broken = parseXml(await res.text());
    assert.equal(res.status, 400);
    assert.deepEqual(faultCodes(broken), ['env:Sender', 'ter:WellFormed']);

    const mustUnderstand = await soap(camera.xaddr, '<tds:GetSystemDateAndTime/>', '<x:Routing xmlns:x="urn:example" s:mustUnderstand="true"/>');
    assert.deepEqual(faultCodes(mustUnderstand.doc), ['env:MustUnderstand']);
  });

  it('refuses a PTZ move outside the velocity space and a preset it does not have', TIMEOUT, async (t) => {
    const camera = await startCamera(t);
    const auth = () => usernameToken('admin', 'secret', new Date().toISOString());
    const ptz = camera.xaddr.replace('device_service', 'ptz_service');
    const tooFast = await soap(ptz, '<tptz:ContinuousMove><tptz:ProfileToken>Profile_1</tptz:ProfileToken><tptz:Velocity><tt:PanTilt x="2" y="0"/></tptz:Velocity></tptz:ContinuousMove>', auth());
    assert.deepEqual(faultCodes(tooFast.doc), ['env:Sender', 'ter:InvalidArgVal', 'ter:InvalidVelocity']);
    const noPtz = await soap(ptz, '<tptz:Stop><tptz:ProfileToken>Profile_2</tptz:ProfileToken></tptz:Stop>', auth());
    assert.deepEqual(faultCodes(noPtz.doc), ['env:Sender', 'ter:InvalidArgVal', 'ter:NoPTZProfile']);
    const noPreset = await soap(ptz, '<tptz:GotoPreset><tptz:ProfileToken>Profile_1</tptz:ProfileToken><tptz:PresetToken>99</tptz:PresetToken></tptz:GotoPreset>', auth());
    assert.deepEqual(faultCodes(noPreset.doc), ['env:Sender', 'ter:InvalidArgVal', 'ter:NoToken']);
    const move = await soap(ptz, '<tptz:ContinuousMove><tptz:ProfileToken>Profile_1</tptz:ProfileToken><tptz:Velocity><tt:PanTilt x="0.5" y="-0.25"/><tt:Zoom x="0.1"/></tptz:Velocity><tptz:Timeout>PT1.5S</tptz:Timeout></tptz:ContinuousMove>', auth());
    assert.equal(move.status, 200);
    assert.deepEqual(camera.ptzCalls.map(({ at: _at, ...call }) => call), [{ operation: 'ContinuousMove', profile: 'Profile_1', pan: 0.5, tilt: -0.25, zoom: 0.1, timeout: 'PT1.5S' }]);
  });

  it('serves its JPEG behind HTTP Digest (RFC 7616, MD5, qop=auth) and refuses a replayed nonce count', TIMEOUT, async (t) => {
    const camera = await startCamera(t);
    const url = new URL(camera.xaddr);
    const target = '/onvif-http/snapshot?Profile_1';
    const snapshot = `http://${url.host}${target}`;
    const first = await fetch(snapshot, { signal: AbortSignal.timeout(10_000) });
    assert.equal(first.status, 401);
    const challenge = first.headers.get('www-authenticate') ?? '';
    assert.match(challenge, /^Digest realm="IP Camera\(G1234\)", qop="auth", nonce="[A-Za-z0-9+/]+=*", opaque="[0-9a-f]+", algorithm=MD5/);
    const param = (name: string) => new RegExp(`${name}="([^"]*)"`).exec(challenge)![1];
    const md5 = (s: string) => createHash('md5').update(s).digest('hex');
    const authorization = (nc: string) => {
      const ha1 = md5(`admin:${param('realm')}:secret`);
      const ha2 = md5(`GET:${target}`);
      const response = md5(`${ha1}:${param('nonce')}:${nc}:abcdef:auth:${ha2}`);
      return `Digest username="admin", realm="${param('realm')}", nonce="${param('nonce')}", uri="${target}", algorithm=MD5, qop=auth, nc=${nc}, cnonce="abcdef", response="${response}", opaque="${param('opaque')}"`;
    };
    const ok = await fetch(snapshot, { headers: { authorization: authorization('00000001') }, signal: AbortSignal.timeout(10_000) });
    assert.equal(ok.status, 200);
    assert.equal(ok.headers.get('content-type'), 'image/jpeg');
    assert.deepEqual(Buffer.from(await ok.arrayBuffer()), camera.jpeg);
    const replay = await fetch(snapshot, { headers: { authorization: authorization('00000001') }, signal: AbortSignal.timeout(10_000) });
    assert.equal(replay.status, 401);
    await replay.text();
    assert.deepEqual(camera.snapshots.map((s) => [s.profile, s.auth]), [['Profile_1', 'digest']]);
    assert.match(camera.authFailures.at(-1)!.why, /nonce count 00000001 not above 1/);
  });

  it('can ask for HTTP Basic instead (RFC 7617)', TIMEOUT, async (t) => {
    const camera = await startCamera(t, { snapshotAuth: 'basic' });
    const snapshot = camera.xaddr.replace('/onvif/device_service', '/onvif-http/snapshot?Profile_2');
    const first = await fetch(snapshot, { signal: AbortSignal.timeout(10_000) });
    assert.equal(first.status, 401);
    assert.match(first.headers.get('www-authenticate') ?? '', /^Basic realm=/);
    await first.text();
    const ok = await fetch(snapshot, { headers: { authorization: `Basic ${Buffer.from('admin:secret').toString('base64')}` }, signal: AbortSignal.timeout(10_000) });
    assert.equal(ok.status, 200);
    await ok.arrayBuffer();
    assert.deepEqual(camera.snapshots.map((s) => [s.profile, s.auth]), [['Profile_2', 'basic']]);
  });

  it('goes down and comes back on the same port', TIMEOUT, async (t) => {
    const camera = await startCamera(t);
    const xaddr = camera.xaddr;
    await camera.down();
    await assert.rejects(soap(xaddr, '<tds:GetSystemDateAndTime/>'));
    await camera.up();
    assert.equal(camera.xaddr, xaddr);
    assert.equal((await soap(xaddr, '<tds:GetSystemDateAndTime/>')).status, 200);
  });

  it('runs as a process: prints its address, serves, exits 0 on SIGTERM', TIMEOUT, async (t) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'test/peers/onvif-camera-cli.ts', '--clock-offset-ms', '60000', '--snapshot-auth', 'basic'], { stdio: ['ignore', 'pipe', 'inherit'] });
    t.after(() => void child.kill('SIGKILL'));
    const [line] = (await within(once(createInterface({ input: child.stdout! }), 'line'), 'the address line', 20_000)) as [string];
    const { xaddr, port } = JSON.parse(line) as { xaddr: string; port: number };
    assert.equal(xaddr, `http://127.0.0.1:${port}/onvif/device_service`);
    assert.equal((await soap(xaddr, '<tds:GetSystemDateAndTime/>')).status, 200);
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    assert.deepEqual(await within(exited, 'the exit after SIGTERM', 20_000), [0, null]);
  });

  it('builds a baseline JFIF JPEG and reads xs:duration timeouts', () => {
    const jpeg = tinyJpeg(4, 3);
    assert.deepEqual([...jpeg.subarray(0, 4)], [0xff, 0xd8, 0xff, 0xe0], 'SOI then APP0');
    assert.equal(jpeg.subarray(6, 11).toString('latin1'), 'JFIF\0');
    const sof = jpeg.indexOf(Buffer.from([0xff, 0xc0]));
    assert.deepEqual([jpeg.readUInt16BE(sof + 5), jpeg.readUInt16BE(sof + 7)], [24, 32], 'height 24, width 32');
    assert.deepEqual([...jpeg.subarray(-2)], [0xff, 0xd9], 'EOI');
    assert.equal(parseDuration('PT5S'), 5000);
    assert.equal(parseDuration('PT1.5S'), 1500);
    assert.equal(parseDuration('P1DT2H3M'), ((24 + 2) * 60 + 3) * 60_000);
    assert.equal(parseDuration('PT'), null);
    assert.equal(parseDuration('5'), null);
  });

  it('remembers a bounded number of Digest nonces: after 1024 newer challenges the oldest is forgotten (challenged anew), a recent one works', () => {
    const check = new HttpAuthCheck('digest', 'cam', () => ({ user: 'admin', password: 'secret' }));
    const challenge = () => parseChallenges([check.challenge()])[0];
    const oldest = challenge();
    let recent = oldest;
    for (let i = 0; i < 1024; i++) recent = challenge();
    const answer = (c: typeof oldest) => check.check(authorization(c, { user: 'admin', password: 'secret' }, 'GET', '/snap'), 'GET', '/snap');
    assert.deepEqual(answer(oldest), { ok: false, why: 'nonce not issued by this camera' });
    assert.deepEqual(answer(recent), { ok: true, user: 'admin' });
  });
});
