// The console's security rules, each shown over real HTTP(S): every /api route (walked from the
// router's table, so a route added later is covered) refuses a request without a session; the
// cookie's flags; CSRF on every POST; the security headers; the body and rate limits; idle and
// absolute session expiry; no password or hash in any answer; no path out of /assets; HTTPS.
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { describe, it } from 'node:test';
import type { Gateway } from '../../../src/gateway.js';
import type { ConsoleServer } from '../../../src/console/server/server.js';
import { makePki } from '../../support/pki.js';
import { siteDevice } from '../../support/site.js';
import { until } from '../../support/wait.js';
import { Browser, startConsoleGateway, USERS } from './support.js';

function serverOf(gateway: Gateway): ConsoleServer {
  return (gateway as unknown as { running: { console: { running: ConsoleServer } } }).running.console.running;
}

/** A raw request (fetch would normalise `..` away). */
function rawGet(base: string, path: string): Promise<{ status: number; body: string }> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, path, method: 'GET' }, (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('console security', () => {
  const device = siteDevice();

  it('refuses every /api route but the login without a valid session, whatever the method', async (t) => {
    const gw = await startConsoleGateway(t, device);
    const routes = serverOf(gw.gateway).router.routes;
    assert.ok(routes.length >= 10, `only ${routes.length} routes`);
    const anonymous = new Browser(gw.base);
    const forged = new Browser(gw.base);
    forged.cookie = 'gatehouse_session=forged-session-id';
    for (const route of routes) {
      const path = route.path.replace(/:[a-z]+/g, 'gate-a');
      for (const browser of [anonymous, forged]) {
        const answer = await browser.request(route.method, path, route.method === 'POST' ? { body: {}, csrf: 'x' } : {});
        if (route.access === 'public') {
          assert.notEqual(answer.status, 200, `${route.method} ${path} let an anonymous request in`);
          continue;
        }
        assert.equal(answer.status, 401, `${route.method} ${route.path}: ${answer.status} ${answer.text}`);
        assert.equal(answer.json.error, 'not_logged_in');
      }
    }
    assert.ok(routes.some((r) => r.access === 'public' && r.path === '/api/login'));
    assert.deepEqual(routes.filter((r) => r.access === 'public').map((r) => r.path), ['/api/login']);
  });

  it('sets an HttpOnly SameSite=Strict cookie, needs the CSRF token on every POST, and sends the security headers', async (t) => {
    const gw = await startConsoleGateway(t, device);
    const guard = new Browser(gw.base);
    const login = await guard.login(USERS.guard.username, USERS.guard.password);
    assert.equal(login.status, 200);
    const cookie = guard.lastSetCookie!;
    assert.match(cookie, /^gatehouse_session=[A-Za-z0-9_-]{40,};/);
    assert.match(cookie, /; HttpOnly/);
    assert.match(cookie, /; SameSite=Strict/);
    assert.doesNotMatch(cookie, /Secure/, 'Secure over plain HTTP would drop the cookie');
    for (const path of ['/api/session', '/', '/assets/nothing.js', '/api/nowhere']) {
      const answer = await guard.get(path);
      const csp = answer.headers.get('content-security-policy') ?? '';
      assert.match(csp, /default-src 'self'/, path);
      assert.match(csp, /frame-ancestors 'none'/, path);
      assert.doesNotMatch(csp, /unsafe-inline/, path);
      assert.equal(answer.headers.get('x-content-type-options'), 'nosniff', path);
      assert.equal(answer.headers.get('referrer-policy'), 'no-referrer', path);
    }
    const command = `/api/devices/gate-a/commands/lock`;
    for (const csrf of [null, 'wrong', guard.csrf!.slice(0, -1) + 'x']) {
      const answer = await guard.request('POST', command, { body: {}, csrf });
      assert.equal(answer.status, 403, `csrf ${csrf}: ${answer.text}`);
      assert.equal(answer.json.error, 'csrf');
      const logout = await guard.request('POST', '/api/logout', { body: {}, csrf });
      assert.equal(logout.status, 403);
    }
    assert.equal((await guard.post(command, {})).status, 200);
    assert.equal((await guard.post('/api/logout', {})).status, 200);
    assert.equal((await guard.get('/api/session')).status, 401, 'the session ends at logout');
  });

  it('refuses a body over console.max_body_bytes (413) and requests over console.requests_per_minute (429)', async (t) => {
    const gw = await startConsoleGateway(t, device, { max_body_bytes: 256, requests_per_minute: 20 });
    const browser = new Browser(gw.base);
    const big = await browser.request('POST', '/api/login', { raw: JSON.stringify({ username: 'guard', password: 'x'.repeat(1000) }), headers: { 'content-type': 'application/json' } });
    assert.equal(big.status, 413, big.text);
    assert.equal(big.json.error, 'too_large');
    const statuses: number[] = [];
    for (let i = 0; i < 25; i++) statuses.push((await browser.get('/api/session')).status);
    assert.ok(statuses.slice(0, 18).every((s) => s === 401), statuses.join(' '));
    assert.equal(statuses.at(-1), 429);
  });

  it('ends a session left alone after session_idle_s (its live feed closes) and any session after session_max_s', async (t) => {
    const gw = await startConsoleGateway(t, device, { session_idle_s: 1, session_max_s: 2 });
    const idle = new Browser(gw.base);
    assert.equal((await idle.login(USERS.guard.username, USERS.guard.password)).status, 200);
    // The live feed is not activity: it is closed when the idle session is swept.
    const res = await fetch(`${gw.base}/api/live`, { headers: { cookie: idle.cookie! } });
    assert.equal(res.status, 200);
    const drained = await res.text();
    assert.match(drained, /event: gateway/);
    assert.equal((await idle.get('/api/session')).status, 401);

    const busy = new Browser(gw.base);
    assert.equal((await busy.login(USERS.guard.username, USERS.guard.password)).status, 200);
    // Active all along (a request every 100 ms, far inside the idle limit): still ended at the absolute limit.
    const ended = await until('the absolute expiry', async () => (await busy.get('/api/session')).status === 401);
    assert.ok(ended);
  });

  it('shows no password or hash in any answer, and nothing outside /assets', async (t) => {
    const gw = await startConsoleGateway(t, device);
    const admin = new Browser(gw.base);
    assert.equal((await admin.login(USERS.guard.username, USERS.guard.password)).status, 200);
    await new Browser(gw.base).login(USERS.viewer.username, 'a-wrong-password');
    const secrets = [...gw.config.users.map((u) => u.password_hash), USERS.guard.password, USERS.viewer.password];
    for (const hash of gw.config.users.map((u) => u.password_hash)) secrets.push(hash.split('$')[5]);
    const routes = serverOf(gw.gateway).router.routes.filter((r) => r.method === 'GET' && r.path !== '/api/live');
    for (const route of routes) {
      const answer = await admin.get(route.path.replace(':id', 'gate-a'));
      for (const secret of secrets) assert.ok(!answer.text.includes(secret), `${route.path} shows a secret`);
    }
    const config = await admin.get('/api/config');
    assert.equal(config.json.config.users[0].password_hash, '[redacted]');
    for (const path of ['/assets/../../package.json', '/assets/..%2f..%2fpackage.json', '/assets/%2e%2e/%2e%2e/package.json', '/assets/.hidden', '/assets/', '/assets/a/../../../package.json']) {
      const answer = await rawGet(gw.base, path);
      assert.equal(answer.status, 404, `${path}: ${answer.status}`);
      assert.doesNotMatch(answer.body, /"name": "gatehouse"/);
    }
  });

  it('serves HTTPS with the broker certificate when console.tls is true, with a Secure cookie', async (t) => {
    const pki = makePki();
    t.after(() => pki.dispose());
    const gw = await startConsoleGateway(t, device, { tls: true }, (doc) => {
      doc.broker.tls = { cert: pki.server.cert, key: pki.server.key };
    });
    assert.match(gw.base, /^https:\/\/127\.0\.0\.1:\d+$/);
    const browser = new Browser(gw.base, pki.ca);
    const login = await browser.login(USERS.guard.username, USERS.guard.password);
    assert.equal(login.status, 200, login.text);
    assert.match(browser.lastSetCookie!, /; Secure/);
    assert.match(login.headers.get('strict-transport-security') ?? '', /max-age=/);
    assert.equal((await browser.get('/api/overview')).status, 200);
  });
});
