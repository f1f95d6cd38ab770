// Persistent sessions across restarts of a real `gatehouse run` process (broker.persistence:
// sqlite, the default): a persistent subscriber (mosquitto_sub -c -i, QoS 1) is away while 1000
// QoS 1 messages are published; the gateway is stopped (SIGTERM) or killed (SIGKILL) and started
// again; the subscriber comes back to Session Present 1 and all 1000, in order. Retained messages of
// clients and the wills of connections a kill cut survive too; with broker.persistence: memory
// nothing does; a damaged or missing database is handled as the outbox's is.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test, type TestContext } from 'node:test';
import Database from 'better-sqlite3';
import { hashPassword } from '../../src/broker/password.js';
import { databasePath } from '../../src/store/database.js';
import { runCli } from '../cli/cli-process.js';
import { scrape, valueOf } from '../metrics/scrape.js';
import { mosquittoSub } from '../support/mosquitto.js';
import { connectClient, type MqttClient } from '../support/mqtt-client.js';
import { runGatewayToExit, spawnGateway, writeConfig, type GatewayProcess } from '../uplink/gateway-process.js';
import mqtt from 'mqtt';

const COUNT = 1000;
const WAIT_MS = 30_000;
const FEED = 'lobby/feed';
const DESK = { username: 'desk', password: 'desk-secret-1' };
const WRITER = { username: 'writer', password: 'writer-secret-1' };

const dirs: string[] = [];
// After every test: by then each gateway was killed by its own test's t.after.
after(() => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

function dataDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-sessions-'));
  dirs.push(dir);
  return dir;
}

/** A gateway with no devices: only its broker, and the users of these tests. */
async function configFile(dir: string, broker: Record<string, unknown> = {}, metrics: Record<string, unknown> = { enabled: false }): Promise<string> {
  return writeConfig(dir, {
    site: 'hq',
    gateway_id: 'gw',
    data_dir: dir,
    broker: { host: '127.0.0.1', port: 0, ...broker },
    metrics,
    users: [
      { username: DESK.username, password_hash: await hashPassword(DESK.password), publish: [], subscribe: ['lobby/#'] },
      { username: WRITER.username, password_hash: await hashPassword(WRITER.password), publish: ['lobby/#'], subscribe: ['lobby/#'] },
    ],
    transports: {},
    devices: [],
  });
}

/** Messages stored for `clientId` in the database, read as `gatehouse` would from another process. */
function storedFor(dir: string, clientId: string): number {
  const db = new Database(databasePath(dir), { readonly: true });
  try {
    return db.prepare('SELECT COUNT(*) FROM broker_outgoing WHERE client_id = ?').pluck().get(clientId) as number;
  } finally {
    db.close();
  }
}

async function until(what: string, probe: () => boolean): Promise<void> {
  const deadline = Date.now() + WAIT_MS;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** mosquitto_sub -c -i desk -q 1 subscribes, then leaves (a DISCONNECT; the session stays). */
async function subscribeAndLeave(port: number): Promise<void> {
  const sub = await mosquittoSub({ port, ...DESK, clientId: 'desk', topics: ['lobby/#'], qos: 1, persistent: true });
  assert.deepEqual(sub.granted, [1], sub.stderr);
  await sub.stop();
}

async function publishNumbered(port: number, count: number): Promise<void> {
  const writer = await connectClient({ port, ...WRITER, clientId: 'writer' });
  for (let n = 1; n <= count; n++) await writer.publishAsync(FEED, String(n), { qos: 1 });
  await writer.endAsync();
}

/** MQTT.js back in the session (CleanSession=0): Session Present, and the payloads received. */
async function comeBack(t: TestContext, port: number): Promise<{ client: MqttClient; sessionPresent: boolean; received: string[] }> {
  const received: string[] = [];
  const client = mqtt.connect({ host: '127.0.0.1', port, protocolVersion: 4, reconnectPeriod: 0, clean: false, clientId: 'desk', ...DESK });
  t.after(() => client.endAsync(true).catch(() => undefined));
  client.on('message', (topic, payload) => void received.push(`${topic} ${payload}`));
  const sessionPresent = await new Promise<boolean>((resolve, reject) => {
    client.once('connect', (connack) => resolve(connack.sessionPresent));
    client.once('error', reject);
  });
  return { client, sessionPresent, received };
}

/** The gateway's log line with this message (its stdout is JSON lines). */
function logged(gateway: GatewayProcess, msg: string): Record<string, unknown> | undefined {
  for (const line of gateway.stdout.split('\n')) {
    try {
      const entry = JSON.parse(line) as Record<string, unknown>;
      if (entry.msg === msg) return entry;
    } catch {
      // not a log line
    }
  }
  return undefined;
}

const restoredFigures = (gateway: GatewayProcess) => {
  const entry = logged(gateway, 'broker state restored');
  return entry && { sessions: entry.sessions, subscriptions: entry.subscriptions, queued: entry.queued, retained: entry.retained, wills: entry.wills };
};

const numbered = (count: number) => Array.from({ length: count }, (_, i) => `${FEED} ${i + 1}`);

for (const signal of ['SIGTERM', 'SIGKILL'] as const) {
  test(`${signal}: a persistent subscriber away while ${COUNT} QoS 1 messages are published finds Session Present and all ${COUNT}, in order, after the restart`, async (t) => {
    const dir = dataDir();
    const config = await configFile(dir);
    const first = await spawnGateway(t, config);
    await subscribeAndLeave(first.port);
    await publishNumbered(first.port, COUNT);
    // Stored for the session: committed, not only acknowledged (what the PUBACK promises is issue 13's first part).
    await until(`${COUNT} messages stored for desk`, () => storedFor(dir, 'desk') === COUNT);
    const stopped = await first.kill(signal);
    assert.equal(signal === 'SIGKILL' ? stopped.signal : stopped.code, signal === 'SIGKILL' ? 'SIGKILL' : 0);

    const second = await spawnGateway(t, config);
    assert.deepEqual(restoredFigures(second), { sessions: 1, subscriptions: 1, queued: COUNT, retained: 0, wills: 0 });
    const back = await comeBack(t, second.port);
    assert.equal(back.sessionPresent, true);
    await until(`all ${COUNT} messages`, () => back.received.length >= COUNT);
    assert.deepEqual(back.received, numbered(COUNT));
    await until('every PUBACK stored', () => storedFor(dir, 'desk') === 0);
  });
}

test('SIGKILL: retained messages of clients, and the will of a client connected at the kill, are there after the restart; the will published once', async (t) => {
  const dir = dataDir();
  const config = await configFile(dir);
  const first = await spawnGateway(t, config);
  await subscribeAndLeave(first.port);
  const writer = await connectClient({ port: first.port, ...WRITER, clientId: 'writer' });
  await writer.publishAsync('lobby/motd', 'welcome', { qos: 1, retain: true });
  await connectClient({ port: first.port, ...WRITER, clientId: 'panel', will: { topic: 'lobby/panel/status', payload: Buffer.from('offline'), qos: 1, retain: true } });
  await until('the retained message and the will stored', () => {
    const db = new Database(databasePath(dir), { readonly: true });
    const n = (db.prepare('SELECT COUNT(*) FROM broker_retained').pluck().get() as number) + (db.prepare('SELECT COUNT(*) FROM broker_wills').pluck().get() as number);
    db.close();
    return n === 2;
  });
  await first.kill('SIGKILL');

  const second = await spawnGateway(t, config);
  // The retained message was also queued for the session (it was away when it was published).
  assert.deepEqual(restoredFigures(second), { sessions: 1, subscriptions: 1, queued: 1, retained: 1, wills: 1 });
  assert.equal(logged(second, 'mqtt will of a connection the previous run left open published')?.clientId, 'panel');
  const back = await comeBack(t, second.port);
  assert.equal(back.sessionPresent, true);
  await until('the message and the will, queued for the session', () => back.received.length >= 2);
  assert.deepEqual(back.received, ['lobby/motd welcome', 'lobby/panel/status offline']);
  const reader = await connectClient({ port: second.port, ...DESK, clientId: 'reader' });
  const retained: string[] = [];
  reader.on('message', (topic, payload, packet) => void (packet.retain && retained.push(`${topic} ${payload}`)));
  await reader.subscribeAsync('lobby/#', { qos: 1 });
  await until('both retained messages', () => retained.length >= 2);
  assert.deepEqual(retained.sort(), ['lobby/motd welcome', 'lobby/panel/status offline']);
  await reader.endAsync();

  // Published once: a clean stop and another start publish it no more.
  await back.client.endAsync();
  await second.kill('SIGTERM');
  const third = await spawnGateway(t, config);
  assert.equal(logged(third, 'mqtt will of a connection the previous run left open published'), undefined);
  assert.equal(restoredFigures(third)?.wills, 0);
});

test('broker.persistence: memory: a restart starts with no session, no queue and no retained message', async (t) => {
  const dir = dataDir();
  const config = await configFile(dir, { persistence: 'memory' });
  const first = await spawnGateway(t, config);
  await subscribeAndLeave(first.port);
  await publishNumbered(first.port, 10);
  const writer = await connectClient({ port: first.port, ...WRITER, clientId: 'writer' });
  await writer.publishAsync('lobby/motd', 'welcome', { qos: 1, retain: true });
  await writer.endAsync();
  await first.kill('SIGTERM');
  const second = await spawnGateway(t, config);
  assert.equal(logged(second, 'broker state restored')?.persistence, 'memory');
  assert.deepEqual(restoredFigures(second), { sessions: 0, subscriptions: 0, queued: 0, retained: 0, wills: 0 });
  const back = await comeBack(t, second.port);
  assert.equal(back.sessionPresent, false);
});

test('a missing database file: a new one, an empty broker state; a damaged one or an unreadable broker row: a clear error, and no start', async (t) => {
  const dir = dataDir();
  const config = await configFile(dir);
  const first = await spawnGateway(t, config);
  await subscribeAndLeave(first.port);
  await publishNumbered(first.port, 3);
  await until('3 messages stored', () => storedFor(dir, 'desk') === 3);
  await first.kill('SIGTERM');

  const raw = new Database(databasePath(dir));
  raw.prepare('UPDATE broker_outgoing SET packet = ? WHERE seq = (SELECT MIN(seq) FROM broker_outgoing)').run(Buffer.from('garbage'));
  raw.close();
  const badRow = await runGatewayToExit(t, config);
  assert.equal(badRow.code, 1);
  assert.match(badRow.stderr, /gatehouse\.db: row seq \d+ of broker_outgoing cannot be read .*move the file .*broker state \(persistent sessions, their queued messages, retained messages\)/);
  assert.equal(storedFor(dir, 'desk'), 3, 'nothing was dropped');

  writeFileSync(databasePath(dir), Buffer.from('overwritten by something else '.repeat(200)));
  for (const side of ['-wal', '-shm']) rmSync(databasePath(dir) + side, { force: true });
  const damaged = await runGatewayToExit(t, config);
  assert.equal(damaged.code, 1);
  assert.match(damaged.stderr, /gatehouse\.db is damaged or not a gatehouse database .*move the file/);

  unlinkSync(databasePath(dir));
  const fresh: GatewayProcess = await spawnGateway(t, config);
  assert.equal(logged(fresh, 'broker state restored')?.persistence, databasePath(dir));
  assert.deepEqual(restoredFigures(fresh), { sessions: 0, subscriptions: 0, queued: 0, retained: 0, wills: 0 });
  assert.equal((await comeBack(t, fresh.port)).sessionPresent, false);
});

test('broker.limits.session_expiry_s: a session away too long is removed, journaled as session_expired (gatehouse journal) and counted in /metrics', async (t) => {
  const dir = dataDir();
  const config = await configFile(dir, { limits: { session_expiry_s: 1 } }, { enabled: true, host: '127.0.0.1', port: 0 });
  const gateway = await spawnGateway(t, config);
  await subscribeAndLeave(gateway.port);
  await publishNumbered(gateway.port, 5);
  await until('the session to expire', () => logged(gateway, 'mqtt persistent session expired') !== undefined);
  assert.equal(storedFor(dir, 'desk'), 0);
  const metricsPort = Number(logged(gateway, 'metrics listening')?.port);
  assert.equal(valueOf(await scrape(metricsPort), 'gatehouse_broker_sessions_expired_total', {}), 1);
  const journal = await runCli(['journal', '--data-dir', dir, '--type', 'session_expired', '--json']);
  assert.equal(journal.code, 0, journal.stderr);
  const entries = journal.stdout.trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
  assert.equal(entries.length, 1);
  assert.equal(entries[0].client_id, 'desk');
  assert.equal(entries[0].username, 'desk');
  assert.equal(entries[0].code, 'expired');
  assert.match(String(entries[0].message), /over broker\.limits\.session_expiry_s 1 s .*; \d+ stored messages removed/);
  assert.equal((await comeBack(t, gateway.port)).sessionPresent, false);
});
