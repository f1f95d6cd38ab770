// Review of issue 7 (ONVIF cameras), against the test camera on loopback: the clock offset both ways
// and after the camera's clock moves, presets sharing a name, credentials a camera puts into its
// URIs under other parameter names, and HTTP Digest's stale=true (RFC 7616 section 3.3).
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import http from 'node:http';
import https from 'node:https';
import { describe, it, type TestContext } from 'node:test';
import { createHash, randomBytes } from 'node:crypto';
import { onvifDriver } from '../../drivers/onvif/index.js';
import { OnvifError } from '../../src/driver-api.js';
import { HttpAuthCheck } from '../../src/simulator/onvif-camera/auth.js';
import { authorization, parseChallenges } from '../../src/transport/http-auth.js';
import { httpExchange } from '../../src/transport/onvif-http.js';
import { withoutCredentials } from '../../src/transport/uri-redact.js';
import { nextEvent, noUnhandledRejections, recordingLog, rejection, startCamera, startTransport } from '../peers/onvif-camera-fixture.js';
import { within } from '../support/wait.js';

const TIMEOUT = { timeout: 60_000 };
const CMD = { priority: 'command' } as const;
const POLL = { priority: 'poll' } as const;

async function connected(t: TestContext, opts: Parameters<typeof startCamera>[1] = {}) {
  const camera = await startCamera(t, opts);
  const started = await startTransport(t, camera);
  if (!started.transport.connected) await nextEvent(started.transport, 'up');
  return { camera, ...started };
}

describe('review issue 7: ONVIF camera', () => {
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

  it('preset by name: two presets with that name is an error naming both tokens; nothing moves', TIMEOUT, async (t) => {
    noUnhandledRejections(t);
    const presets = [
      { token: '1', name: 'Gate', pan: 0, tilt: 0, zoom: 0 },
      { token: '2', name: 'Parking', pan: 0.5, tilt: 0, zoom: 0 },
      { token: '3', name: 'Gate', pan: -0.5, tilt: 0, zoom: 0 },
    ];
    const { camera, transport } = await connected(t, { presets });
    const driver = onvifDriver.create({ deviceId: 'cam', kind: 'camera', options: {}, transport, log: recordingLog() });
    const err = await rejection(driver.perform!('preset', { preset: 'Gate' }, CMD));
    assert.ok(err instanceof OnvifError && err.reason === 'unknown_preset', String(err));
    assert.match(err.message, /\b1\b.*\b3\b/);
    assert.equal(camera.ptzCalls.length, 0, 'no GotoPreset sent');
    // A token still picks exactly one.
    assert.deepEqual(await driver.perform!('preset', { preset: '3' }, CMD), { data: { preset: { token: '3', name: 'Gate' } } });
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

  it('withoutCredentials drops query values equal to a given secret, whatever the parameter is called', () => {
    assert.equal(withoutCredentials('http://cam/snap.cgi?chn=1&loginuse=admin&loginpas=S3cret!', ['admin', 'S3cret!']), 'http://cam/snap.cgi?chn=1');
    assert.equal(withoutCredentials('http://cam/snap.cgi?a=1&b=2', ['']), 'http://cam/snap.cgi?a=1&b=2', 'an empty secret matches nothing');
    assert.equal(withoutCredentials('not a url?loginpas=S3cret!', ['S3cret!']), 'not a url?loginpas=***', 'nor in what is not a URL');
  });
});

/** A Digest server (RFC 7616, MD5, qop=auth) whose nonces go stale after their first use, as cameras with short nonce lifetimes do. */
function staleDigestServer(t: TestContext) {
  const account = { user: 'admin', password: 'secret' };
  const realm = 'cam';
  const fresh = new Set<string>();
  const log: string[] = [];
  const md5 = (s: string) => createHash('md5').update(s).digest('hex');
  const challenge = (stale: boolean) => {
    const nonce = randomBytes(8).toString('hex');
    fresh.add(nonce);
    return `Digest realm="${realm}", qop="auth", nonce="${nonce}", algorithm=MD5${stale ? ', stale=true' : ''}`;
  };
  let staleOnce = true;
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const auth = req.headers.authorization;
    if (auth === undefined) {
      log.push('challenge');
      return void res.writeHead(401, { 'www-authenticate': challenge(false) }).end();
    }
    const p = Object.fromEntries([...auth.matchAll(/(\w+)="?([^",]*)"?/g)].map((m) => [m[1], m[2]]));
    const expected = md5(`${md5(`${account.user}:${realm}:${account.password}`)}:${p.nonce}:${p.nc}:${p.cnonce}:auth:${md5(`GET:${p.uri}`)}`);
    if (p.response !== expected) {
      log.push('wrong');
      return void res.writeHead(401, { 'www-authenticate': challenge(false) }).end();
    }
    if (!fresh.has(p.nonce) || staleOnce) {
      // Right credentials, nonce expired meanwhile: section 3.3, stale=true.
      staleOnce = false;
      fresh.delete(p.nonce);
      log.push('stale');
      return void res.writeHead(401, { 'www-authenticate': challenge(true) }).end();
    }
    fresh.delete(p.nonce);
    log.push('ok');
    res.writeHead(200, { 'content-type': 'image/jpeg' }).end(Buffer.from([0xff, 0xd8, 0xff, 0xd9]));
  });
  return new Promise<{ url: URL; log: string[] }>((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      t.after(() => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }));
      resolve({ url: new URL(`http://127.0.0.1:${(server.address() as { port: number }).port}/snap.jpg`), log });
    });
  });
}

describe('review issue 7: HTTP Digest stale nonce', () => {
  it('a 401 with stale=true after a correct Digest is answered once more with the new nonce', TIMEOUT, async (t) => {
    const { url, log } = await staleDigestServer(t);
    const agents = { http: new http.Agent(), https: new https.Agent() };
    t.after(() => {
      agents.http.destroy();
      agents.https.destroy();
    });
    const reply = await within(
      httpExchange({ url, method: 'GET', maxBytes: 1024, signal: new AbortController().signal, agents, credentials: { user: 'admin', password: 'secret' }, label: 'snap' }),
      'the snapshot exchange',
    );
    assert.equal(reply.status, 200, JSON.stringify(log));
    assert.equal(reply.auth, 'digest');
    assert.deepEqual(log, ['challenge', 'stale', 'ok']);
  });
});

describe('review issue 7: GetSystemDateAndTime across a month end', () => {
  it('our clock on 31 January, the camera two minutes ahead on 1 February: an offset of two minutes, not four weeks', TIMEOUT, async (t) => {
    noUnhandledRejections(t);
    // Only Date is faked (timers stay real): node-onvif builds the camera's time from `new Date()`.
    t.mock.timers.enable({ apis: ['Date'], now: Date.UTC(2026, 0, 31, 23, 59, 0) });
    const { camera, transport } = await connected(t, { clockOffsetMs: 120_000, createdWindowMs: 10_000 });
    const offset = transport.info()!.clockOffsetMs;
    assert.ok(Math.abs(offset - 120_000) < 3000, `clock offset ${offset} ms`);
    await transport.presets('Profile_1', CMD);
    assert.deepEqual(camera.authFailures, []);
  });
});

describe('review issue 7: the simulated camera remembers a bounded number of Digest nonces', () => {
  it('after 1024 newer challenges the oldest nonce is forgotten (challenged anew); a recent one works', () => {
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
