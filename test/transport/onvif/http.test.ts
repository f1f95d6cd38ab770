// One HTTP exchange with a camera (src/transport/onvif-http.ts), against a Digest server whose
// nonces go stale: RFC 7616 section 3.3, stale=true.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import http from 'node:http';
import https from 'node:https';
import { it, type TestContext } from 'node:test';
import { httpExchange } from '../../../src/transport/onvif/http.js';
import { within } from '../../support/wait.js';

const TIMEOUT = { timeout: 60_000 };

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
