// SIGTERM / SIGINT end the real gateway (a `gatehouse run` child process) cleanly: commands in
// flight get their results, `offline` is published, the cloud outbox is flushed as far as the link
// allows, the database is closed with its WAL checkpointed, exit 0. A stop that hangs is cut short
// (124), a second signal exits at once (130), a fatal error exits 70 with one log line.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { beforeEach, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { databasePath } from '../../src/store/database.js';
import { topics } from '../../src/topics.js';
import { PACKAGE_ROOT } from '../support/cli-process.js';
import { isLog, siteFiles, spawnService, type LogLine } from '../support/gateway-process.js';
import { commandTopic, gatewayAvailabilityTopic, parseResult, topicOf, uniqueId } from '../support/gateway.js';
import { connectClient, subscribeCollect } from '../support/mqtt-client.js';
import { GATEWAY_ID, GATE_A, GATE_B, SITE, USERS, resetDevice, siteDevice } from '../support/site.js';
import { until } from '../support/wait.js';
import { startCloudBroker } from '../uplink/cloud-broker.js';
import { cloudSubscriber } from '../uplink/cloud-subscriber.js';
import { storedOutbox, uplinkSection } from '../uplink/uplink-harness.js';

const WAIT_MS = 30_000;
const FEED = `site/${SITE}/app/feed`;

const device = siteDevice({ reset: false });
beforeEach(async () => {
  await device.mute(GATE_B.unit, false);
  await resetDevice(device);
});

/** Opens the database read-only for one query and closes it again (an open reader would keep the WAL). */
function query<T>(dataDir: string, sql: string, ...params: unknown[]): T | undefined {
  const db = new Database(databasePath(dataDir), { readonly: true, fileMustExist: true });
  try {
    return db.prepare(sql).get(...params) as T | undefined;
  } finally {
    db.close();
  }
}

const fatalLines = (logs: LogLine[]) => logs.filter((l) => l.level >= 50);

test('SIGTERM with a command in flight: its result arrives, `offline` is published, the database is closed cleanly, exit 0', async (t) => {
  // Gate B's unit stops answering; it stays online (high offline_after) so the command is accepted
  // and waits on the wire for the transport's timeout.
  const site = await siteFiles(t, device.port, { transport: { timeout_ms: 1500 }, gateB: { offline_after: 1000, command_timeout_ms: 5000 } });
  const gateway = spawnService(t, site.file);
  await gateway.waitForLog('online', isLog('gatehouse online'));
  const brokerPort = await gateway.brokerPort();
  const client = await connectClient({ port: brokerPort, ...USERS.guard });
  t.after(() => client.endAsync(true));
  const results = await subscribeCollect(client, topicOf(GATE_B, 'result'));
  const availability = await subscribeCollect(client, gatewayAvailabilityTopic);
  await availability.waitFor((m) => m.payload.toString() === 'online');

  await device.mute(GATE_B.unit, true);
  const id = uniqueId('in-flight');
  await client.publishAsync(commandTopic(GATE_B, 'unlock'), JSON.stringify({ id }), { qos: 1 });
  // Accepted: its id is claimed on disk, and it has no result yet.
  await until('the command claimed and pending', () => query<{ result: string | null }>(site.dataDir, 'SELECT result FROM command_ids WHERE id = ?', id)?.result === null, WAIT_MS);

  gateway.signal('SIGTERM');
  const result = parseResult(await results.waitFor((m) => parseResult(m).id === id, WAIT_MS));
  assert.equal(result.status, 'error');
  assert.ok(['timeout', 'device_error'].includes(result.code!), `a terminal result for the unanswered write (${result.code}: ${result.message})`);
  await availability.waitFor((m) => m.payload.toString() === 'offline', WAIT_MS);
  const exit = await gateway.exit();
  assert.deepEqual(exit, { code: 0, signal: null }, gateway.stderr);
  assert.ok(gateway.logs.some(isLog('gatehouse stopped')));
  // The only errors: relocking the silent gate after its unanswered unlock was tried, and logged.
  const errors = gateway.logs.filter((l) => l.level >= 50).map((l) => l.msg);
  assert.ok(errors.length > 0 && errors.every((msg) => /relock/.test(msg)), JSON.stringify(errors));

  // Closed cleanly: the last connection's close checkpointed and removed the WAL.
  const wal = `${databasePath(site.dataDir)}-wal`;
  assert.ok(!existsSync(wal) || statSync(wal).size === 0, 'no WAL left behind');
  const db = new Database(databasePath(site.dataDir), { readonly: true, fileMustExist: true });
  try {
    assert.equal(db.pragma('integrity_check', { simple: true }), 'ok');
    const row = db.prepare('SELECT result FROM command_ids WHERE id = ?').get(id) as { result: string | null };
    assert.equal(JSON.parse(row.result!).code, result.code, 'the result is in the ledger');
  } finally {
    db.close();
  }
});

test('SIGINT stops the same way', async (t) => {
  const site = await siteFiles(t, device.port);
  const gateway = spawnService(t, site.file);
  await gateway.waitForLog('online', isLog('gatehouse online'));
  gateway.signal('SIGINT');
  assert.deepEqual(await gateway.exit(), { code: 0, signal: null });
  assert.ok(gateway.logs.some(isLog('gatehouse stopped')));
});

test('kill -9 while commands stream: every result a client got is in the ledger after the restart, and the restart answers the rest', async (t) => {
  const site = await siteFiles(t, device.port);
  const first = spawnService(t, site.file);
  const client = await connectClient({ port: await first.brokerPort(), ...USERS.guard });
  t.after(() => client.endAsync(true));
  const results = await subscribeCollect(client, topics.result(SITE, GATE_A.kind, '+'));
  // Two lanes, one per gate: each sends its next unlock as soon as its result is in.
  const sent: string[] = [];
  let killed = false;
  let endLanes = () => undefined as void;
  const lanesEnded = new Promise<void>((resolve) => (endLanes = resolve));
  const lane = async (gate: typeof GATE_A | typeof GATE_B) => {
    while (!killed) {
      const id = uniqueId(`stream-${gate.id}`);
      sent.push(id);
      await client.publishAsync(commandTopic(gate, 'unlock'), JSON.stringify({ id, duration_ms: 100 }), { qos: 1 }).catch(() => undefined);
      await Promise.race([results.waitFor((m) => parseResult(m).id === id, WAIT_MS), lanesEnded]);
    }
  };
  const lanes = [lane(GATE_A), lane(GATE_B)];
  await results.waitFor(() => results.messages.filter((m) => parseResult(m).status === 'ok').length >= 10, WAIT_MS);
  killed = true;
  assert.deepEqual(await first.kill('SIGKILL'), { code: null, signal: 'SIGKILL' });
  endLanes();
  await client.endAsync(true);
  await Promise.all(lanes);
  const answered = results.messages.map(parseResult);
  assert.ok(answered.length >= 10);

  // The restart answers what the kill interrupted, then stops cleanly.
  const second = spawnService(t, site.file);
  await second.waitForLog('online', isLog('gatehouse online'), WAIT_MS);
  second.signal('SIGTERM');
  assert.deepEqual(await second.exit(), { code: 0, signal: null }, second.stderr);

  const db = new Database(databasePath(site.dataDir), { readonly: true, fileMustExist: true });
  try {
    assert.equal(db.pragma('integrity_check', { simple: true }), 'ok');
    const row = db.prepare<[string], { result: string | null }>('SELECT result FROM command_ids WHERE id = ?');
    for (const result of answered) {
      const stored = row.get(result.id);
      assert.ok(stored?.result, `${result.id}: answered ${result.status} before the kill, and in the ledger after it`);
      assert.equal(JSON.parse(stored.result).status, result.status);
    }
    const open = db.prepare<[], { id: string }>('SELECT id FROM command_ids WHERE result IS NULL').all();
    assert.deepEqual(open, [], 'every claimed command has its result after the restart');
    const claimed = sent.filter((id) => row.get(id));
    assert.ok(claimed.length >= answered.length, `${claimed.length} of ${sent.length} sent were claimed`);
  } finally {
    db.close();
  }
});

test('SIGTERM after a cloud outage, with the link back: the backlog is flushed before the exit', async (t) => {
  const cloud = await startCloudBroker();
  t.after(() => cloud.dispose());
  const site = await siteFiles(t, device.port, {
    extra: { uplink: uplinkSection(cloud.url, { forward: [`site/${SITE}/app/#`], flush_on_stop_ms: 20_000, inflight: 5 }) },
  });
  const consumer = await cloudSubscriber({ url: cloud.url, filters: [`site/${SITE}/#`], clientId: uniqueId('consumer') });
  t.after(() => consumer.close());
  const gateway = spawnService(t, site.file);
  const availability = topics.gatewayAvailability(SITE, GATEWAY_ID);
  await consumer.waitFor('online', (ms) => ms.some((m) => m.topic === availability && m.text === 'online'), WAIT_MS);

  await cloud.stop();
  const brokerPort = await gateway.brokerPort();
  const local = await connectClient({ port: brokerPort, ...USERS.guard });
  t.after(() => local.endAsync(true));
  const COUNT = 1000;
  for (let i = 1; i <= COUNT; i++) await local.publishAsync(FEED, String(i), { qos: 1 });
  await until('the backlog committed', () => storedOutbox(site.dataDir).byClass.telemetry >= COUNT, WAIT_MS);

  await cloud.start();
  await gateway.waitForLog('link up', isLog('cloud link up; draining the outbox'), WAIT_MS);
  gateway.signal('SIGTERM');
  assert.deepEqual(await gateway.exit(), { code: 0, signal: null }, gateway.stderr);
  assert.ok(gateway.logs.some(isLog('cloud link closed; outbox drained')));
  assert.equal(storedOutbox(site.dataDir).depth, 0);
  await consumer.waitFor('the whole backlog and `offline`', (ms) =>
    new Set(ms.filter((m) => m.topic === FEED).map((m) => m.text)).size === COUNT && ms.some((m) => m.topic === availability && m.text === 'offline'), WAIT_MS);
});

test('SIGTERM during a cloud outage: the stop does not wait for the link; the backlog stays for the next start', async (t) => {
  const cloud = await startCloudBroker();
  t.after(() => cloud.dispose());
  // The bound: a flush window far longer than the stop may take. A stop that waited for the link
  // to drain the backlog would run into --stop-timeout-ms and exit 124.
  const flushOnStopMs = 600_000;
  const site = await siteFiles(t, device.port, { extra: { uplink: uplinkSection(cloud.url, { forward: [`site/${SITE}/app/#`], flush_on_stop_ms: flushOnStopMs }) } });
  const gateway = spawnService(t, site.file, { args: ['--stop-timeout-ms', '15000'] });
  await gateway.waitForLog('link up', isLog('cloud link up; draining the outbox'), WAIT_MS);
  await cloud.stop();
  const brokerPort = await gateway.brokerPort();
  const local = await connectClient({ port: brokerPort, ...USERS.guard });
  t.after(() => local.endAsync(true));
  for (let i = 1; i <= 50; i++) await local.publishAsync(FEED, String(i), { qos: 1 });
  await until('the backlog committed', () => storedOutbox(site.dataDir).byClass.telemetry >= 50, WAIT_MS);

  gateway.signal('SIGTERM');
  assert.deepEqual(await gateway.exit(), { code: 0, signal: null }, gateway.stderr);
  assert.ok(gateway.logs.some(isLog('cloud link closed with messages still in the outbox; they are sent after the next start')));
  assert.ok(storedOutbox(site.dataDir).depth >= 50, 'the backlog is kept');
});

test('a stop that hangs past --stop-timeout-ms logs one line and exits 124', async (t) => {
  // A device that stops answering with a long transport timeout: its poll in progress holds up the stop.
  const site = await siteFiles(t, device.port, { transport: { timeout_ms: 30_000 } });
  const gateway = spawnService(t, site.file, { args: ['--stop-timeout-ms', '1500'] });
  await gateway.waitForLog('online', isLog('gatehouse online'));
  const dropped = device.waitForDropped(GATE_B.unit, WAIT_MS);
  await device.mute(GATE_B.unit, true);
  // A poll of the muted unit is on the wire, and its reply will not come for 30 s.
  await dropped;
  gateway.signal('SIGTERM');
  const exit = await gateway.exit();
  assert.deepEqual(exit, { code: 124, signal: null });
  const errors = fatalLines(gateway.logs);
  assert.equal(errors.length, 1, JSON.stringify(errors));
  assert.equal(errors[0].msg, 'stop did not finish within 1500 ms; exiting without a clean stop');
  assert.ok(!gateway.logs.some(isLog('gatehouse stopped')));
});

test('a second signal during a stop exits at once with 130', async (t) => {
  const site = await siteFiles(t, device.port, { transport: { timeout_ms: 30_000 } });
  const gateway = spawnService(t, site.file);
  await gateway.waitForLog('online', isLog('gatehouse online'));
  const dropped = device.waitForDropped(GATE_B.unit, WAIT_MS);
  await device.mute(GATE_B.unit, true);
  // A poll of the muted unit is on the wire, and its reply will not come for 30 s.
  await dropped;
  gateway.signal('SIGTERM');
  await gateway.waitForLog('stopping', isLog('stopping'));
  gateway.signal('SIGINT');
  assert.deepEqual(await gateway.exit(), { code: 130, signal: null });
  assert.ok(gateway.logs.some(isLog('second signal: exiting without a clean stop')));
});

test('a start that fails (data_dir is a file) exits 1 with one fatal line', async (t) => {
  const site = await siteFiles(t, device.port);
  const blocker = join(site.dir, 'not-a-dir');
  writeFileSync(blocker, 'x');
  site.write({ ...site.document, data_dir: join(blocker, 'data') });
  const gateway = spawnService(t, site.file);
  assert.deepEqual(await gateway.exit(), { code: 1, signal: null });
  const fatal = gateway.logs.filter((l) => l.level === 60);
  assert.equal(fatal.length, 1);
  assert.equal(fatal[0].msg, 'gatehouse could not start');
});

// ---------------------------------------------------------------------------------------------
// Fatal errors at run time: a child process that installs the handlers and then fails.

const FATAL_CHILD = fileURLToPath(new URL('./fatal-child.ts', import.meta.url));

function runFatalChild(how: 'throw' | 'reject'): Promise<{ code: number | null; lines: string[] }> {
  const child = spawn(process.execPath, ['--import', 'tsx', FATAL_CHILD, how], { cwd: PACKAGE_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  let stderr = '';
  createInterface({ input: child.stdout }).on('line', (line) => lines.push(line));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`fatal-child ${how} did not exit; stderr:\n${stderr}`));
    }, WAIT_MS);
    child.once('close', (code) => {
      clearTimeout(timer);
      if (stderr.trim() !== '') lines.push(`stderr: ${stderr}`);
      resolve({ code, lines });
    });
  });
}

for (const [how, message, text] of [
  ['throw', 'uncaught exception; exiting', 'thrown from a timer'],
  ['reject', 'unhandled promise rejection; exiting', 'rejected and never handled'],
] as const) {
  test(`${how}: one fatal log line with the error, exit 70`, async () => {
    const { code, lines } = await runFatalChild(how);
    assert.equal(code, 70);
    assert.equal(lines.length, 1, lines.join('\n'));
    const line = JSON.parse(lines[0]) as LogLine & { err: { message: string; stack: string } };
    assert.equal(line.level, 60);
    assert.equal(line.msg, message);
    assert.equal(line.err.message, text);
    assert.match(line.err.stack, /fatal-child\.ts/);
  });
}

// SIGTERM while `gatehouse run` is still starting (here: a device that does not answer holds up its
// start-up safe-state attempt) is a normal stop: it waits for the start to end, stops once, cleanly,
// and exits 0, with no error logged and no fatal "could not start".
test('SIGTERM during the start: a clean stop, exit 0, nothing logged as an error', async (t) => {
  await device.mute(GATE_B.unit, true);
  t.after(() => device.mute(GATE_B.unit, false));
  const site = await siteFiles(t, device.port, { transport: { timeout_ms: 6000 } });
  // The start is held up by gate B's safe-state write, which reaches the muted unit and gets no
  // reply for the transport's 6 s: the signal goes once that write is on the wire.
  const held = device.waitForDropped(GATE_B.unit, WAIT_MS);
  const gateway = spawnService(t, site.file);
  await gateway.waitForLog('starting', isLog('gatehouse starting'));
  await held;
  assert.ok(!gateway.logs.some(isLog('gatehouse online')), 'the start has not finished');
  gateway.signal('SIGTERM');
  const exit = await gateway.exit(60_000);
  const stoppingAt = gateway.logs.findIndex(isLog('stopping'));
  const onlineAt = gateway.logs.findIndex(isLog('gatehouse online'));
  assert.ok(stoppingAt >= 0, 'the signal was taken');
  assert.ok(onlineAt === -1 || stoppingAt < onlineAt, `the signal was taken before the start finished (stopping at line ${stoppingAt}, online at ${onlineAt})`);
  // The one error allowed: relocking the silent gate B at the stop, tried and logged.
  const errors = gateway.logs.filter((l) => l.level >= 50 && !/relock/.test(l.msg)).map((l) => `${l.level} ${l.msg} ${JSON.stringify(l.err ?? '')}`);
  assert.deepEqual(errors, [], 'no other error or fatal line');
  assert.deepEqual(exit, { code: 0, signal: null }, gateway.stderr);
  assert.ok(gateway.logs.some(isLog('gatehouse stopped')));
  assert.equal(gateway.logs.filter(isLog('gatehouse stopped')).length, 1, 'stopped once');
});
