// `gatehouse status` as a child process against a real gateway (pymodbus devices, MQTT commands):
// the one-screen summary, --json, --config, and the exit codes for unhealthy, unreachable and
// usage problems.
import Database from 'better-sqlite3';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { StatusSummary } from '../../src/cli/status-report.js';
import { databasePath } from '../../src/store/database.js';
import { VERSION } from '../../src/version.js';
import { freePort } from '../support/ports.js';
import { startModbusDevice, type ModbusDevice } from '../support/modbus-device.js';
import {
  GATE_A,
  GATE_B,
  TURNSTILE,
  UNITS,
  clientAs,
  configDocument,
  resetDevice,
  resultFor,
  sendCommand,
  startGateway,
  topicOf,
  uniqueId,
  watch,
  type RunningGateway,
} from '../gateway/harness.js';
import { runCli } from './cli-process.js';
import type { TestContext } from 'node:test';

let device: ModbusDevice;
before(async () => {
  device = await startModbusDevice({ units: UNITS });
});
after(() => device?.stop());

const WAIT_MS = 15_000;
const LAG_TOLERANT = { max_event_loop_lag_ms: 60_000 };

/** A gateway that answered one ok and one forbidden command, with gate-b muted until it went offline. */
async function busyGateway(t: TestContext): Promise<RunningGateway> {
  await resetDevice(device);
  const gw = await startGateway(t, device, { metrics: LAG_TOLERANT });
  const guard = await clientAs(t, gw.port, 'guard');
  const viewer = await clientAs(t, gw.port, 'viewer');
  const results = await watch(guard, 'site/hq/+/+/result');
  const availability = await watch(viewer, topicOf(GATE_B, 'availability'));
  const okId = uniqueId('ok');
  await sendCommand(guard, GATE_A, 'lock', { id: okId });
  assert.equal((await resultFor(results, okId)).status, 'ok');
  const forbiddenId = uniqueId('forbidden');
  await sendCommand(viewer, GATE_A, 'unlock', { id: forbiddenId });
  assert.equal((await resultFor(results, forbiddenId)).code, 'forbidden');
  await device.mute(GATE_B.unit, true);
  t.after(() => device.mute(GATE_B.unit, false).catch(() => undefined));
  await availability.waitFor((m) => m.payload.toString() === 'offline', WAIT_MS);
  return gw;
}

test('status prints version, health, broker, each device, command codes, outbox and uplink', async (t) => {
  const gw = await busyGateway(t);
  const url = `http://127.0.0.1:${gw.gateway.metricsPort}`;
  const run = await runCli(['status', '--url', url]);
  assert.equal(run.code, 0, run.stderr);
  assert.equal(run.stderr, '');
  const out = run.stdout;
  assert.match(out, new RegExp(`^gatehouse ${VERSION.replace(/\./g, '\\.')} at ${url}, up \\d+[smhd]( \\d+[smh])?\\n`));
  assert.match(out, /\nhealth +ok\n/);
  assert.match(out, /\nbroker +2 clients connected; messages \d+ received, \d+ published\n/);
  assert.match(out, /\ndevices +2 of 3 online\n/);
  assert.match(out, new RegExp(`\\n  gate +${GATE_A.id} +online +poll failures 0\\n`));
  assert.match(out, new RegExp(`\\n  gate +${GATE_B.id} +OFFLINE +poll failures (\\d+) \\(timeout \\1\\), went offline 1x\\n`));
  assert.match(out, new RegExp(`\\n  turnstile +${TURNSTILE.id} +online +poll failures 0\\n`));
  assert.match(out, /\ncommands +2 answered: ok 1, forbidden 1\n/);
  assert.match(out, /\noutbox +0 messages \(0 B\), 0 dropped\n/);
  assert.match(out, /\nuplink +disabled\n/);
  assert.ok(out.split('\n').length <= 25, 'fits one screen');
});

test('status --json and --config FILE read the same gateway', async (t) => {
  const gw = await busyGateway(t);
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-status-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'gatehouse.json');
  writeFileSync(file, JSON.stringify(await configDocument(device.port, gw.dataDir, { metrics: { port: gw.gateway.metricsPort } })));

  const run = await runCli(['status', '--config', file, '--json']);
  assert.equal(run.code, 0, run.stderr);
  const summary = JSON.parse(run.stdout) as StatusSummary;
  assert.equal(summary.url, `http://127.0.0.1:${gw.gateway.metricsPort}`);
  assert.equal(summary.version, VERSION);
  assert.equal(summary.healthy, true);
  assert.deepEqual(summary.commands.by_code, { ok: 1, forbidden: 1 });
  assert.equal(summary.commands.total, 2);
  assert.deepEqual(
    summary.devices.map((d) => [d.kind, d.device, d.online]),
    [
      ['gate', GATE_A.id, true],
      ['gate', GATE_B.id, false],
      ['turnstile', TURNSTILE.id, true],
    ],
  );
  const gateB = summary.devices.find((d) => d.device === GATE_B.id)!;
  assert.ok(gateB.poll_failures >= 2);
  assert.equal(gateB.poll_failures_by_code.timeout, gateB.poll_failures);
  assert.equal(summary.uplink.state, 'disabled');
  assert.equal(summary.broker.clients, 2);
});

test('unhealthy gateway (database write lock held elsewhere): the summary and exit code 1 say why', async (t) => {
  await resetDevice(device);
  const gw = await startGateway(t, device, { metrics: LAG_TOLERANT });
  const holder = new Database(databasePath(gw.dataDir));
  t.after(() => {
    if (holder.inTransaction) holder.exec('ROLLBACK');
    holder.close();
  });
  holder.exec('BEGIN EXCLUSIVE');
  const run = await runCli(['status', '--url', `http://127.0.0.1:${gw.gateway.metricsPort}`]);
  assert.equal(run.code, 1, run.stderr);
  assert.match(run.stdout, /\nhealth +UNHEALTHY: database unwritable: SQLITE_BUSY/);
  assert.match(run.stdout, /\ndevices +3 of 3 online\n/, 'the rest of the summary is still printed');
  assert.match(run.stderr, /^gatehouse status: UNHEALTHY: database unwritable: SQLITE_BUSY/);
});

test('nothing listening: exit 3, connection refused', async () => {
  const port = await freePort();
  const run = await runCli(['status', '--url', `http://127.0.0.1:${port}`]);
  assert.equal(run.code, 3);
  assert.equal(run.stdout, '');
  assert.match(run.stderr, new RegExp(`UNREACHABLE: cannot reach http://127\\.0\\.0\\.1:${port}/healthz: connection refused: is gatehouse running`));
});

test('usage problems: exit 2 with the reason', async (t) => {
  const badScheme = await runCli(['status', '--url', 'https://127.0.0.1:1']);
  assert.equal(badScheme.code, 2);
  assert.match(badScheme.stderr, /--url must be http:\/\/host:port, not https:/);

  const badTimeout = await runCli(['status', '--timeout', 'soon']);
  assert.equal(badTimeout.code, 2);
  assert.match(badTimeout.stderr, /--timeout must be a positive number of milliseconds/);

  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-status-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'gatehouse.json');
  writeFileSync(file, JSON.stringify(await configDocument(device.port, dir, { metrics: { port: 0 } })));
  const freePortConfig = await runCli(['status', '--config', file]);
  assert.equal(freePortConfig.code, 2);
  assert.match(freePortConfig.stderr, /metrics\.port is 0 in .*gatehouse\.json .*pass --url/);

  writeFileSync(file, JSON.stringify(await configDocument(device.port, dir, { metrics: { enabled: false } })));
  const disabled = await runCli(['status', '--config', file]);
  assert.equal(disabled.code, 2);
  assert.match(disabled.stderr, /metrics are disabled in .*gatehouse\.json/);
});
