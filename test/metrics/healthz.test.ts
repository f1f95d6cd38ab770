// /healthz of a real gateway: 200 when healthy; 503 with the reason when the database takes no
// write (another connection holds SQLite's write lock) or the event loop was blocked; and a
// gateway whose process is stopped (SIGSTOP) does not answer at all, which the client's timeout
// and `gatehouse status` report.
import Database from 'better-sqlite3';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { databasePath } from '../../src/store/database.js';
import { runCli } from '../support/cli-process.js';
import { spawnGateway, writeConfig } from '../support/gateway-process.js';
import { startGateway, tempDataDir } from '../support/gateway.js';
import { configDocument, siteDevice } from '../support/site.js';
import { until } from '../support/wait.js';
import { healthz, httpRequest, scrape, valueOf } from './scrape.js';

const device = siteDevice();

const WAIT_MS = 30_000;
/** Tests about other checks must not fail because a loaded machine stalled the loop for a second. */
const LAG_TOLERANT = { max_event_loop_lag_ms: 60_000 };

async function waitForHealth(port: number, status: number, what: string): Promise<Record<string, unknown>> {
  let last: Awaited<ReturnType<typeof healthz>> | undefined;
  return until(() => `${what}; last /healthz: ${last?.status} ${JSON.stringify(last?.body)}`, async () => {
    last = await healthz(port);
    return last.status === status && last.body;
  }, WAIT_MS, 100);
}

test('healthy: 200 with status, version, uptime and both checks', async (t) => {
  const gw = await startGateway(t, device, { metrics: LAG_TOLERANT });
  const answer = await httpRequest(gw.gateway.metricsPort!, '/healthz');
  assert.equal(answer.status, 200);
  assert.match(String(answer.headers['content-type']), /^application\/json/);
  const body = JSON.parse(answer.body);
  assert.equal(body.status, 'ok');
  assert.equal(body.healthy, true);
  assert.deepEqual(body.reasons, []);
  assert.match(body.version, /^\d+\.\d+\.\d+/);
  assert.equal(typeof body.uptime_s, 'number');
  assert.equal(body.checks.database.ok, true);
  assert.equal(body.checks.event_loop.ok, true);
  assert.equal(body.checks.event_loop.threshold_ms, 60_000);
});

test('database write lock held by another connection: 503 naming the database, 200 once released', async (t) => {
  const gw = await startGateway(t, device, { metrics: LAG_TOLERANT });
  const port = gw.gateway.metricsPort!;
  await waitForHealth(port, 200, 'healthy at start');

  // A second connection takes the write lock: the gateway's probe write waits its short busy timeout and fails.
  const holder = new Database(databasePath(gw.dataDir));
  t.after(() => {
    if (holder.inTransaction) holder.exec('ROLLBACK');
    holder.close();
  });
  holder.exec('BEGIN EXCLUSIVE');
  const unhealthy = await waitForHealth(port, 503, '503 while the database is locked');
  assert.equal(unhealthy.status, 'unhealthy');
  const reasons = unhealthy.reasons as string[];
  assert.equal(reasons.length, 1);
  assert.match(reasons[0], /^database unwritable: SQLITE_BUSY/);
  const checks = unhealthy.checks as { database: { ok: boolean; code: string }; event_loop: { ok: boolean } };
  assert.equal(checks.database.ok, false);
  assert.equal(checks.database.code, 'SQLITE_BUSY');
  assert.equal(checks.event_loop.ok, true);
  const samples = await scrape(port);
  assert.equal(valueOf(samples, 'gatehouse_database_writable'), 0);
  assert.equal(valueOf(samples, 'gatehouse_healthy'), 0);

  holder.exec('ROLLBACK');
  const healthy = await waitForHealth(port, 200, '200 after the lock is released');
  assert.equal((healthy.checks as { database: { ok: boolean } }).database.ok, true);
  assert.equal(valueOf(await scrape(port), 'gatehouse_database_writable'), 1);
});

test('event loop blocked for 2 s: 503 naming the lag, then 200 once the window has passed', async (t) => {
  const gw = await startGateway(t, device, { metrics: { max_event_loop_lag_ms: 1000 } });
  const port = gw.gateway.metricsPort!;
  // A real synchronous block of this process's event loop (the gateway runs in it).
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 2000);
  const answer = await healthz(port);
  assert.equal(answer.status, 503);
  const reasons = answer.body.reasons as string[];
  assert.ok(reasons.some((r) => /^event loop blocked for \d+ ms recently \(threshold 1000 ms\)$/.test(r)), JSON.stringify(reasons));
  const loop = (answer.body.checks as { event_loop: { ok: boolean; max_lag_ms: number } }).event_loop;
  assert.equal(loop.ok, false);
  assert.ok(loop.max_lag_ms > 1000, `max_lag_ms ${loop.max_lag_ms} is above the threshold`);
  assert.ok(valueOf(await scrape(port), 'gatehouse_event_loop_lag_recent_max_seconds') > 1);
  await waitForHealth(port, 200, '200 once the block has left the window');
});

test('a stopped gateway process (SIGSTOP) does not answer: the client times out and status says unreachable', async (t) => {
  const dir = tempDataDir(t);
  const file = writeConfig(dir, await configDocument(device.port, dir, { metrics: LAG_TOLERANT }));
  const gw = await spawnGateway(t, file);
  const listening = gw.stdout.split('\n').map((line) => {
    try {
      return JSON.parse(line) as { msg?: string; port?: number };
    } catch {
      return {};
    }
  }).find((entry) => entry.msg === 'metrics listening');
  assert.ok(listening?.port, `the gateway logged its metrics port; stdout:\n${gw.stdout}`);
  const port = listening.port;
  assert.equal((await healthz(port)).status, 200);

  process.kill(gw.pid, 'SIGSTOP');
  t.after(() => {
    try {
      process.kill(gw.pid, 'SIGCONT');
    } catch {
      // already gone
    }
  });
  // The kernel still accepts the connection; nobody reads the request.
  await assert.rejects(healthz(port, 1500), /no answer to GET \/healthz/);
  const status = await runCli(['status', '--url', `http://127.0.0.1:${port}`, '--timeout', '1500']);
  assert.equal(status.code, 3, status.stderr);
  assert.match(status.stderr, /UNREACHABLE: no answer from http:\/\/127\.0\.0\.1:\d+\/healthz within 1500 ms: the gateway may be stuck/);
  assert.equal(status.stdout, '');

  process.kill(gw.pid, 'SIGCONT');
  await waitForHealth(port, 200, '200 after SIGCONT');
  await gw.kill('SIGTERM');
});
