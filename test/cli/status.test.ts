// `gatehouse status` as a child process against a real gateway (pymodbus devices, MQTT commands,
// mosquitto_pub): the one-screen summary with each device's state, the last events and refusals,
// --json, --config (and another gateway answering at its address), --watch, and the exit codes
// for unhealthy, unreachable and usage problems.
import Database from 'better-sqlite3';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { CLEAR_SCREEN } from '../../src/cli/status.js';
import type { StatusSummary } from '../../src/cli/status-report.js';
import { databasePath } from '../../src/store/database.js';
import { VERSION } from '../../src/version.js';
import { runCli, spawnCli } from '../support/cli-process.js';
import { clientAs, resultFor, sendCommand, startGateway, topicOf, uniqueId, watch, type RunningGateway } from '../support/gateway.js';
import { mosquittoPub } from '../support/mosquitto.js';
import { freePort } from '../support/ports.js';
import { GATE_A, GATE_B, TURNSTILE, USERS, configDocument, resetDevice, siteDevice } from '../support/site.js';
import type { TestContext } from 'node:test';
import { tempDir } from '../support/temp.js';

const device = siteDevice({ reset: false });

const WAIT_MS = 15_000;
const LAG_TOLERANT = { max_event_loop_lag_ms: 60_000 };

/**
 * A gateway that answered one ok and one forbidden command, counted one passage in, refused a
 * publish to a mistyped site, with gate-b muted until it went offline.
 */
async function busyGateway(t: TestContext): Promise<RunningGateway> {
  await resetDevice(device);
  const gw = await startGateway(t, device, { metrics: LAG_TOLERANT });
  const guard = await clientAs(t, gw.port, 'guard');
  const viewer = await clientAs(t, gw.port, 'viewer');
  const results = await watch(guard, 'site/hq/+/+/result');
  const availability = await watch(viewer, topicOf(GATE_B, 'availability'));
  const passages = await watch(viewer, topicOf(TURNSTILE, 'event'));
  await device.set(TURNSTILE.unit, 'ir', 0, [1]);
  await passages.waitFor((m) => JSON.parse(m.payload.toString()).event === 'passage', WAIT_MS);
  const typo = await mosquittoPub({ port: gw.port, username: USERS.guard.username, password: USERS.guard.password, clientId: 'tech-laptop', topic: 'site/hqq/gate/gate-a/unlock', message: '{}', qos: 1 });
  assert.notEqual(typo.code, 0, 'the publish is refused and the connection closed');
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

test('status prints the gateway, health, broker, each device\'s state, commands, outbox, uplink, events and refusals', async (t) => {
  const gw = await busyGateway(t);
  const url = `http://127.0.0.1:${gw.gateway.metricsPort}`;
  const run = await runCli(['status', '--url', url]);
  assert.equal(run.code, 0, run.stderr);
  assert.equal(run.stderr, '');
  const out = run.stdout;
  assert.match(out, new RegExp(`^gatehouse ${VERSION.replace(/\./g, '\\.')} at ${url}, up \\d+[smhd]( \\d+[smh])?\\n`));
  assert.match(out, /\ngateway +gw of site hq \(session \d+\)\n/);
  assert.match(out, /\nhealth +ok\n/);
  assert.match(out, /\nbroker +2 clients connected; messages \d+ received, \d+ published\n/);
  assert.match(out, /\ndevices +2 of 3 online\n/);
  assert.match(out, new RegExp(`\\n  gate +${GATE_A.id} +online +locked, door closed\\n`));
  assert.match(out, new RegExp(`\\n  gate +${GATE_B.id} +OFFLINE +last known: locked, door closed; poll failures (\\d+) \\(timeout \\1\\); went offline 1x\\n`));
  assert.match(out, new RegExp(`\\n  turnstile +${TURNSTILE.id} +online +locked, passages in 1, out 0\\n`));
  assert.match(out, /\ncommands +2 answered: ok 1, forbidden 1\n/);
  assert.match(out, /\noutbox +0 messages \(0 B\), 0 dropped\n/);
  assert.match(out, /\nuplink +disabled\n/);
  assert.match(out, /\nevents +(\d+ entr(y|ies)|the last 5 of \d+ kept), newest last\n/);
  assert.match(out, new RegExp(`\\n  \\d\\d:\\d\\d:\\d\\d  turnstile/${TURNSTILE.id} +passage  direction=in count=1 total=1\\n`));
  assert.match(out, /\nrefused +1 entry, newest last; all of them: gatehouse journal --type TYPE\n/);
  assert.match(
    out,
    /\n {2}\d\d:\d\d:\d\d {2}publish_denied +user guard, client "tech-laptop" from 127\.0\.0\.1:\d+: site\/hqq\/gate\/gate-a\/unlock: acl \(the topic names site "hqq"; this gateway serves site "hq"\)\n$/,
  );
  assert.ok(out.split('\n').length <= 25, 'fits one screen');
});

test('status --json and --config FILE read the same gateway', async (t) => {
  const gw = await busyGateway(t);
  const dir = tempDir(t, 'status');
  const file = join(dir, 'gatehouse.json');
  writeFileSync(file, JSON.stringify(await configDocument(device.port, gw.dataDir, { metrics: { port: gw.gateway.metricsPort } })));

  const run = await runCli(['status', '--config', file, '--json']);
  assert.equal(run.code, 0, run.stderr);
  const summary = JSON.parse(run.stdout) as StatusSummary;
  assert.notEqual(gw.gateway.metricsPort, 9464, 'another port than the demo\'s');
  assert.equal(summary.url, `http://127.0.0.1:${gw.gateway.metricsPort}`);
  assert.equal(summary.gateway?.site, 'hq');
  assert.equal(summary.gateway?.gateway_id, 'gw');
  assert.ok(summary.events.some((e) => e.kind === 'turnstile' && e.device === TURNSTILE.id && e.event === 'passage' && e.details.direction === 'in'));
  assert.equal(summary.refusals.length, 1);
  assert.equal(summary.refusals[0].client_id, 'tech-laptop');
  assert.equal(summary.refusals[0].username, 'guard');
  assert.equal(summary.refusals[0].reason, 'acl');
  assert.equal(summary.refusals[0].hint, 'the topic names site "hqq"; this gateway serves site "hq"');
  assert.equal(summary.devices.find((d) => d.device === TURNSTILE.id)?.state?.passages_in, 1);
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

  const dir = tempDir(t, 'status');
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

test('--config naming another gateway than the one answering at its metrics address: MISMATCH, exit 3', async (t) => {
  await resetDevice(device);
  const gw = await startGateway(t, device, { metrics: LAG_TOLERANT });
  const dir = tempDir(t, 'status');
  const file = join(dir, 'other-site.json');
  const other = await configDocument(device.port, dir, { metrics: { port: gw.gateway.metricsPort } });
  writeFileSync(file, JSON.stringify({ ...other, site: 'riverside', gateway_id: 'edge-1' }));
  const run = await runCli(['status', '--config', file]);
  assert.equal(run.code, 3, run.stderr);
  const why = `the gateway at http://127.0.0.1:${gw.gateway.metricsPort} is gw of site hq, not edge-1 of site riverside as ${file} says`;
  assert.ok(run.stdout.startsWith(`MISMATCH: ${why}`), run.stdout);
  assert.match(run.stdout, /\ngateway +gw of site hq /, 'the summary of what answered follows');
  assert.ok(run.stderr.startsWith(`gatehouse status: MISMATCH: ${why}`), run.stderr);
});

/** `gatehouse status ...args` left running until `frames` screens were drawn, then SIGINT; its exit and output. */
async function watchFrames(args: string[], frames: number): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawnCli(['status', ...args]);
  child.stdin.end();
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const closed = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`fewer than ${frames} screens within ${WAIT_MS * 2} ms:\n${stdout}\n${stderr}`)), WAIT_MS * 2);
      child.stdout.on('data', (chunk: Buffer) => {
        stdout += chunk.toString();
        if (stdout.split(CLEAR_SCREEN).length - 1 >= frames) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  child.kill('SIGINT');
  return { code: await closed, stdout, stderr };
}

test('--watch clears the screen and redraws until SIGINT, then exits 0', async (t) => {
  const gw = await busyGateway(t);
  const run = await watchFrames(['--url', `http://127.0.0.1:${gw.gateway.metricsPort}`, '--watch', '0.2'], 2);
  assert.equal(run.code, 0, run.stderr);
  const screens = run.stdout.split(CLEAR_SCREEN).slice(1);
  assert.ok(screens.length >= 2);
  for (const screen of screens.slice(0, 2)) {
    assert.match(screen, /^every 0\.2 s: gatehouse status at \d\d:\d\d:\d\d \(Ctrl-C stops\)\n\ngatehouse /);
    assert.match(screen, new RegExp(`\\n  turnstile +${TURNSTILE.id} +online +locked, passages in 1, out 0\\n`));
    assert.match(screen, /\nrefused +1 entry/);
  }
});

test('--watch on a gateway that does not answer shows why on each screen and keeps asking', async () => {
  const port = await freePort();
  const run = await watchFrames(['--url', `http://127.0.0.1:${port}`, '-w', '0.1'], 2);
  assert.equal(run.code, 0, run.stderr);
  for (const screen of run.stdout.split(CLEAR_SCREEN).slice(1, 3)) {
    assert.match(screen, new RegExp(`\\n\\nUNREACHABLE: cannot reach http://127\\.0\\.0\\.1:${port}/healthz: connection refused`));
  }
});

test('--watch takes a positive number of seconds', async () => {
  for (const value of ['0', '-1', 'soon']) {
    const run = await runCli(['status', `--watch=${value}`]);
    assert.equal(run.code, 2, value);
    assert.match(run.stderr, /--watch takes a number of seconds above 0/);
  }
});
