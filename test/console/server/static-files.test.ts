// The page's files over real HTTP: index.html at /, assets by plain name only, gzip when asked,
// an ETag answered with 304, the content type, and nothing outside assets/.
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { it } from 'node:test';
import { StaticFiles } from '../../../src/console/server/static-files.js';
import { makeTempDir, removeTempDir } from '../../support/temp.js';

function get(port: number, path: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end();
  });
}

it('serves index.html and assets with gzip, ETag and content types, and refuses every way out of assets/', async (t) => {
  const dir = makeTempDir('console-ui');
  t.after(() => removeTempDir(dir));
  mkdirSync(join(dir, 'assets', 'icons'), { recursive: true });
  writeFileSync(join(dir, 'index.html'), '<!doctype html><title>gatehouse</title><script src="/assets/app.js"></script>');
  const script = `console.log(${JSON.stringify('x'.repeat(2000))});`;
  writeFileSync(join(dir, 'assets', 'app.js'), script);
  writeFileSync(join(dir, 'assets', 'icons', 'gate.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');
  writeFileSync(join(dir, 'secret.txt'), 'outside assets');
  writeFileSync(join(dir, 'assets', '.env'), 'hidden');
  const files = new StaticFiles(dir);
  const server = createServer((req, res) => {
    const path = req.url ?? '/';
    void (path === '/' ? files.serveIndex(req, res) : files.serveAsset(req, res, path.slice('/assets/'.length)));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => server.close());
  const port = (server.address() as AddressInfo).port;

  const index = await get(port, '/');
  assert.equal(index.status, 200);
  assert.match(String(index.headers['content-type']), /^text\/html/);
  const plain = await get(port, '/assets/app.js');
  assert.equal(plain.body.toString(), script);
  assert.match(String(plain.headers['content-type']), /^text\/javascript/);
  const zipped = await get(port, '/assets/app.js', { 'accept-encoding': 'gzip, br' });
  assert.equal(zipped.headers['content-encoding'], 'gzip');
  assert.ok(zipped.body.length < plain.body.length);
  assert.equal(gunzipSync(zipped.body).toString(), script);
  const etag = String(plain.headers.etag);
  assert.equal((await get(port, '/assets/app.js', { 'if-none-match': etag })).status, 304);
  assert.equal(plain.headers['cache-control'], 'no-cache');
  assert.equal((await get(port, '/assets/icons/gate.svg')).headers['content-type'], 'image/svg+xml');
  for (const path of ['/assets/../secret.txt', '/assets/..%2fsecret.txt', '/assets/%2e%2e/secret.txt', '/assets/.env', '/assets/icons', '/assets/icons/', '/assets/', '/assets/nothing.js', '/assets/icons/..%2f..%2fsecret.txt']) {
    const answer = await get(port, path);
    assert.equal(answer.status, 404, path);
    assert.doesNotMatch(answer.body.toString(), /outside assets|hidden/, path);
  }
});
