// What `gatehouse run` loads (issue 15, idle memory): node-onvif only with an ONVIF transport, ws only
// with a WebSocket listener, pino-pretty only when stdout is a TTY. The gateway runs in a child
// process with test/support/module-dump.mjs, which lists every CommonJS module it loaded when it exits.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { spawnGateway, writeConfig } from '../support/gateway-process.js';
import { freePort } from '../support/ports.js';
import { configDocument } from '../support/site.js';
import { tempDir } from '../support/temp.js';

const LAZY = ['node-onvif', 'ws', 'pino-pretty'];

/** Runs the gateway on `document` until it is online, stops it, and returns the packages it loaded. */
async function packagesLoaded(t: TestContext, document: Record<string, unknown>): Promise<string[]> {
  const dir = tempDir(t, 'run-packages');
  const dump = join(dir, 'modules.txt');
  const gateway = await spawnGateway(t, writeConfig(dir, document), { env: { MODULE_DUMP_FILE: dump }, nodeArgs: ['--import', './test/support/module-dump.mjs'] });
  gateway.signal('SIGTERM');
  const end = await gateway.exit();
  assert.equal(end.code, 0, gateway.stderr);
  const paths = readFileSync(dump, 'utf8').split('\n').filter(Boolean);
  return [...new Set(paths.flatMap((p) => /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(p)?.[1] ?? []))].sort();
}

test('a Modbus-only site without WebSocket listener loads neither node-onvif nor ws nor pino-pretty', async (t) => {
  const document = await configDocument(await freePort(), tempDir(t, 'data'));
  const loaded = await packagesLoaded(t, document);
  // The dump sees what the site does use: the Modbus library, SQLite, the logger.
  for (const used of ['modbus-serial', 'better-sqlite3', 'pino']) assert.ok(loaded.includes(used), `${used} is loaded: ${loaded.join(' ')}`);
  for (const lazy of LAZY) assert.ok(!loaded.includes(lazy), `${lazy} is not loaded: ${loaded.join(' ')}`);
});

test('a camera transport loads node-onvif and a WebSocket listener loads ws', async (t) => {
  const document = await configDocument(await freePort(), tempDir(t, 'data'));
  const broker = document.broker as Record<string, unknown>;
  document.broker = { ...broker, ws: { enabled: true, host: '127.0.0.1', port: 0, path: '/mqtt', tls: false } };
  // Nothing listens at the camera's address: the transport starts (and retries) all the same.
  document.transports = { ...(document.transports as object), cam: { type: 'onvif', xaddr: `http://127.0.0.1:${await freePort()}/onvif/device_service`, user: 'admin', password: 'secret' } };
  document.devices = [...(document.devices as object[]), { id: 'lobby-cam', kind: 'camera', driver: 'onvif', transport: 'cam', poll_ms: 2000, options: {} }];
  const loaded = await packagesLoaded(t, document);
  assert.ok(loaded.includes('node-onvif'), `node-onvif is loaded: ${loaded.join(' ')}`);
  assert.ok(loaded.includes('ws'), `ws is loaded: ${loaded.join(' ')}`);
  assert.ok(!loaded.includes('pino-pretty'), `pino-pretty is not loaded (stdout is a pipe): ${loaded.join(' ')}`);
});
