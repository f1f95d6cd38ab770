// The gateway's own commands (issue 16, section 1) end to end: a real gateway, its broker, MQTT
// clients and the site's pymodbus device. They take the one pipeline: the ACL, validation,
// de-duplication, expiry, exactly one result and the journal hold for them as for a door.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { hashPassword } from '../../src/broker/password.js';
import { parseConfigDocument } from '../../src/config.js';
import type { CommandResult } from '../../src/commands/result.js';
import { JOURNAL_MAX_LIMIT } from '../../src/devices/kinds/gateway.js';
import { topics } from '../../src/topics.js';
import { PACKAGE_ROOT } from '../support/cli-process.js';
import { freePort } from '../support/ports.js';
import { configDocument } from '../support/site.js';
import { clientAs, resultFor, resultsFor, sendCommand, startGatewayFrom, startSession, tempDataDir, topicOf, uniqueId, watch } from '../support/gateway.js';
import { mosquittoPub } from '../support/mosquitto.js';
import { connectClient, type MqttClient } from '../support/mqtt-client.js';
import { GATEWAY_ID, GATE_A, GATE_B, SITE, TURNSTILE, USERS, siteDevice } from '../support/site.js';
import { until } from '../support/wait.js';

const device = siteDevice();

/** Publishes a command to the gateway (this one, or `gatewayId`) at QoS 1 and waits for its PUBACK. */
async function sendToGateway(client: MqttClient, command: string, payload: Record<string, unknown>, gatewayId = GATEWAY_ID): Promise<void> {
  await client.publishAsync(topics.gatewayCommand(SITE, gatewayId, command), JSON.stringify(payload), { qos: 1 });
}
const RESULTS = topics.gatewayResult(SITE, GATEWAY_ID);
const ALL_RESULTS = topics.result(SITE, '+', '+');

function dataOf(result: CommandResult): Record<string, unknown> {
  assert.equal(result.status, 'ok', `${result.command}: ${result.code} ${result.message}`);
  assert.ok(result.data, `${result.command} carries data`);
  return result.data;
}

test('status: the gateway state and every device with its availability and state', async (t) => {
  const { client, results } = await startSession(t, device, RESULTS);
  const id = uniqueId('status');
  await sendToGateway(client, 'status', { id });
  const result = await resultFor(results, id);
  assert.equal(result.kind, 'gateway');
  assert.equal(result.device, GATEWAY_ID);
  assert.equal(result.source, 'local');
  const data = dataOf(result);
  assert.equal(data.site, SITE);
  assert.equal(data.gateway_id, GATEWAY_ID);
  const gateway = data.gateway as { version: string; devices: { total: number; online: number } };
  assert.equal(typeof gateway.version, 'string');
  assert.deepEqual(gateway.devices, { total: 3, online: 3, offline: 0 });
  const devices = data.devices as { kind: string; id: string; availability: string; state: Record<string, unknown> }[];
  assert.deepEqual(devices.map((d) => `${d.kind}/${d.id}:${d.availability}`), ['gate/gate-a:online', 'gate/gate-b:online', 'turnstile/lobby:online']);
  assert.equal(devices[0].state.lock, 'locked');
  assert.equal(data.more, undefined, 'everything fits');
  assert.ok(Array.isArray(data.events) && Array.isArray(data.refusals));
});

test('devices: the configured devices with kind, driver, transport and description', async (t) => {
  const { client, results } = await startSession(t, device, RESULTS);
  const id = uniqueId('devices');
  await sendToGateway(client, 'devices', { id });
  const data = dataOf(await resultFor(results, id));
  assert.equal(data.count, 3);
  const devices = data.devices as Record<string, unknown>[];
  assert.deepEqual(devices[0], {
    id: GATE_A.id,
    kind: 'gate',
    name: `Gate ${GATE_A.id}`,
    driver: 'modbus',
    transport: 'plc',
    description: devices[0].description,
    availability: 'online',
  });
  assert.match(String(devices[0].description), /door|gate|lock/i);
  assert.deepEqual(devices.map((d) => d.id), [GATE_A.id, GATE_B.id, TURNSTILE.id]);
});

test('journal: rows by device, type and time, newest limit of them oldest first, more when older ones match', async (t) => {
  const { client, results } = await startSession(t, device, ALL_RESULTS);
  const ids: string[] = [];
  for (let i = 0; i < 3; i++) {
    const id = uniqueId(`lock-${i}`);
    ids.push(id);
    await sendCommand(client, GATE_A, 'lock', { id });
    await resultFor(results, id);
  }
  await sendCommand(client, GATE_B, 'lock', { id: uniqueId('other-gate') });
  const since = Date.now() - 60_000;

  // Journal writes are group-committed: ask until the three rows are there.
  const journal = await until('three rows of gate-a in the journal', async () => {
    const id = uniqueId('journal');
    await sendToGateway(client, 'journal', { id, device: GATE_A.id, type: 'command', since, limit: 2 });
    const data = dataOf(await resultFor(results, id));
    return (data.more === true && data) || undefined;
  });
  const rows = journal.rows as { command_id: string; device: string; type: string; seq: number }[];
  assert.equal(journal.count, 2);
  assert.deepEqual(rows.map((r) => r.command_id), ids.slice(1), 'the newest two, oldest first');
  assert.ok(rows.every((r) => r.device === GATE_A.id && r.type === 'command'));

  const all = uniqueId('journal-all');
  await sendToGateway(client, 'journal', { id: all, device: GATE_A.id, type: 'command', since });
  const everything = dataOf(await resultFor(results, all));
  assert.deepEqual((everything.rows as { command_id: string }[]).map((r) => r.command_id), ids);
  assert.equal(everything.more, undefined, 'no more rows than these');

  // until before anything: nothing.
  const none = uniqueId('journal-none');
  await sendToGateway(client, 'journal', { id: none, until: since });
  assert.deepEqual(dataOf(await resultFor(results, none)).rows, []);
});

test('each gateway command has its row in the journal, with the caller', async (t) => {
  const { client, results } = await startSession(t, device, RESULTS);
  const asked: Record<string, string> = {};
  for (const command of ['status', 'devices', 'outbox', 'config', 'resync', 'journal', 'reload']) {
    asked[command] = uniqueId(command);
    await sendToGateway(client, command, { id: asked[command] });
    await resultFor(results, asked[command]);
  }
  const rows = await until('a journal row for every gateway command', async () => {
    const id = uniqueId('check');
    await sendToGateway(client, 'journal', { id, device: GATEWAY_ID, type: 'command', limit: 50 });
    const found = dataOf(await resultFor(results, id)).rows as { command: string; command_id: string; kind: string; username: string; status: string; code?: string }[];
    return Object.values(asked).every((cid) => found.some((r) => r.command_id === cid)) && found;
  });
  for (const [command, cid] of Object.entries(asked)) {
    const row = rows.find((r) => r.command_id === cid)!;
    assert.equal(row.command, command);
    assert.equal(row.kind, 'gateway');
    assert.equal(row.username, USERS.guard.username);
    // The in-process test gateway has no config file: its reload says so, as an error.
    assert.equal(row.status, command === 'reload' ? 'error' : 'ok', `${command}: ${row.code}`);
  }
});

test('outbox: without the uplink it says so', async (t) => {
  const { client, results } = await startSession(t, device, RESULTS);
  const id = uniqueId('outbox');
  await sendToGateway(client, 'outbox', { id });
  assert.deepEqual(dataOf(await resultFor(results, id)), { enabled: false });
});

test('resync: the device is read now and its state and availability published again', async (t) => {
  const { gw, client, results } = await startSession(t, device, RESULTS);
  const watcher = await clientAs(t, gw.port, 'viewer');
  const state = await watch(watcher, topicOf(GATE_B, 'state'));
  const availability = await watch(watcher, topicOf(GATE_B, 'availability'));
  // The retained ones first; what the resync publishes comes after them.
  await state.waitFor(() => true);
  await availability.waitFor(() => true);
  const statesBefore = state.messages.length;
  const availabilityBefore = availability.messages.length;

  // The door opens on the device; the resync reports it whatever the poll has seen.
  await device.set(GATE_B.unit, 'di', 0, [true]);
  const id = uniqueId('resync');
  await sendToGateway(client, 'resync', { id, device: GATE_B.id });
  const data = dataOf(await resultFor(results, id));
  const [report] = data.devices as { id: string; ok: boolean; availability: string; state: { door: string } }[];
  assert.equal(report.id, GATE_B.id);
  assert.equal(report.ok, true);
  assert.equal(report.availability, 'online');
  assert.equal(report.state.door, 'open');
  await state.waitFor((m) => state.messages.indexOf(m) >= statesBefore && JSON.parse(m.payload.toString()).door === 'open');
  // Availability does not change: the resync publishes it again all the same.
  await availability.waitFor((m) => availability.messages.indexOf(m) >= availabilityBefore && m.payload.toString() === 'online');

  // Every device when none is named.
  const all = uniqueId('resync-all');
  await sendToGateway(client, 'resync', { id: all });
  const everyone = dataOf(await resultFor(results, all)).devices as { id: string; ok: boolean }[];
  assert.deepEqual(everyone.map((d) => `${d.id}:${d.ok}`), [`${GATE_A.id}:true`, `${GATE_B.id}:true`, `${TURNSTILE.id}:true`]);

  // A device that does not exist: unknown_device.
  const nobody = uniqueId('resync-nobody');
  await sendToGateway(client, 'resync', { id: nobody, device: 'no-such-gate' });
  const refused = await resultFor(results, nobody);
  assert.equal(refused.code, 'unknown_device');
  assert.match(refused.message, /no device named no-such-gate \(known: gate-a, gate-b, lobby\)/);
});

test('resync of a device that does not answer: an error result with its code, its report in data, availability published', async (t) => {
  // gate-b on a unit the pymodbus device does not serve: it never answers.
  const { gw, client, results } = await startSession(t, device, RESULTS, { gateB: { options: { unit: 9, outputs: { unlock: { coil: 0 } }, inputs: { door: { discrete_input: 0 } } } } });
  const watcher = await clientAs(t, gw.port, 'viewer');
  const availability = await watch(watcher, topicOf(GATE_B, 'availability'));
  await availability.waitFor((m) => m.payload.toString() === 'offline');
  const before = availability.messages.length;
  const id = uniqueId('resync-dead');
  await sendToGateway(client, 'resync', { id, device: GATE_B.id });
  const result = await resultFor(results, id);
  assert.equal(result.status, 'error');
  assert.equal(result.code, 'offline');
  assert.match(result.message, /^gate gate-b not read: gate gate-b has not reached its safe state yet/);
  const [report] = result.data!.devices as { id: string; ok: boolean; availability: string; error: string }[];
  assert.deepEqual([report.id, report.ok, report.availability], [GATE_B.id, false, 'offline']);
  await availability.waitFor((m) => availability.messages.indexOf(m) >= before && m.payload.toString() === 'offline');

  // Every device: the others are read, gate-b reported, and the result is ok.
  const all = uniqueId('resync-all');
  await sendToGateway(client, 'resync', { id: all });
  const everyone = dataOf(await resultFor(results, all)).devices as { id: string; ok: boolean }[];
  assert.deepEqual(everyone.map((d) => `${d.id}:${d.ok}`), [`${GATE_A.id}:true`, `${GATE_B.id}:false`, `${TURNSTILE.id}:true`]);
});

test('config: the running config without a secret, and the same hash when asked again', async (t) => {
  const dataDir = tempDataDir(t);
  const doc = await configDocument(device.port, dataDir);
  doc.uplink = { enabled: false, url: 'mqtt://127.0.0.1:1', username: 'site-hq', password: 'cloud-secret-pw-1' };
  const gw = await startGatewayFrom(t, doc);
  const client = await clientAs(t, gw.port, 'guard');
  const results = await watch(client, RESULTS);
  const id = uniqueId('config');
  await sendToGateway(client, 'config', { id });
  const result = await resultFor(results, id);
  const text = JSON.stringify(result);
  const data = dataOf(result);
  assert.match(String(data.hash), /^sha256:[0-9a-f]{64}$/);
  const config = data.config as { site: string; users: { username: string; password_hash: string }[]; uplink: { password: string; username: string } };
  assert.equal(config.site, SITE);
  assert.deepEqual(config.users.map((u) => [u.username, u.password_hash]), [['guard', '[redacted]'], ['viewer', '[redacted]']]);
  assert.equal(config.uplink.password, '[redacted]');
  assert.equal(config.uplink.username, 'site-hq');
  for (const secret of [...gw.config.users.map((u) => u.password_hash), 'scrypt$', USERS.guard.password, USERS.viewer.password, 'cloud-secret-pw-1']) {
    assert.ok(!text.includes(secret), `the answer carries ${secret}`);
  }

  // Asked again: the same hash (a fleet tool compares sites by it).
  const again = uniqueId('config-again');
  await sendToGateway(client, 'config', { id: again });
  assert.equal(dataOf(await resultFor(results, again)).hash, data.hash);
});

test("config on the demo's config: none of the demo's password hashes, passwords or camera password in the answer", async (t) => {
  const file = join(PACKAGE_ROOT, 'config', 'demo.yaml');
  const text = readFileSync(file, 'utf8');
  const doc = parseConfigDocument(text, file) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- a YAML document edited in place
  // The demo's site on this test's ports: its Modbus devices on the site's pymodbus (the barrier's
  // unit is not there: offline), its camera on a port where nothing listens (offline).
  doc.data_dir = tempDataDir(t);
  doc.log = { level: 'silent' };
  doc.broker = { ...doc.broker, port: 0 };
  doc.metrics = { ...doc.metrics, port: 0 };
  doc.console = { ...doc.console, port: 0 };
  doc.transports.simulator.port = device.port;
  doc.transports['camera-sim'].xaddr = `http://127.0.0.1:${await freePort()}/onvif/device_service`;
  const technician = { username: 'technician', password: `tech-${Date.now()}` };
  const demoUsers = [...doc.users];
  doc.users.push({ username: technician.username, password_hash: await hashPassword(technician.password), publish: ['site/demo/gateway/demo-gw/+'], subscribe: ['site/demo/#'] });
  const gw = await startGatewayFrom(t, doc);
  const client = await connectClient({ port: gw.port, ...technician });
  t.after(() => client.endAsync(true));
  const results = await watch(client, topics.gatewayResult('demo', 'demo-gw'));
  const id = uniqueId('demo-config');
  await client.publishAsync(topics.gatewayCommand('demo', 'demo-gw', 'config'), JSON.stringify({ id }), { qos: 1 });
  const result = await resultFor(results, id);
  const answer = JSON.stringify(result);
  const config = dataOf(result).config as { users: { username: string }[]; transports: Record<string, { password?: string }> };
  assert.deepEqual(config.users.map((u) => u.username), [...demoUsers.map((u: { username: string }) => u.username), 'technician']);
  assert.equal(config.transports['camera-sim'].password, '[redacted]');
  const secrets = [...doc.users.map((u: { password_hash: string }) => u.password_hash), 'guard-demo', 'display-demo', 'tech-demo', 'demo-camera', technician.password, 'scrypt$'];
  assert.equal(secrets.length, demoUsers.length + 1 + 6);
  for (const secret of secrets) assert.ok(!answer.includes(secret), `the answer carries ${secret}`);
  // The demo's own hashes, as they stand in the file, are in the file and not in the answer.
  for (const hash of text.match(/scrypt\$[^"]+/g) ?? []) assert.ok(!answer.includes(hash), hash);
  assert.equal((text.match(/scrypt\$[^"]+/g) ?? []).length, demoUsers.length, 'every demo user\'s hash was looked for');
});

test('a user without the topic in its ACL is refused: forbidden, and no data', async (t) => {
  const { gw, results } = await startSession(t, device, RESULTS);
  const id = uniqueId('viewer-status');
  // The viewer subscribes to the site but publishes nothing: the command reaches the pipeline as unauthorized.
  const pub = await mosquittoPub({ port: gw.port, ...USERS.viewer, topic: topics.gatewayCommand(SITE, GATEWAY_ID, 'config'), message: JSON.stringify({ id }), qos: 1 });
  assert.equal(pub.code, 0, pub.stderr);
  const result = await resultFor(results, id);
  assert.equal(result.status, 'error');
  assert.equal(result.code, 'forbidden');
  assert.match(result.message, /user "viewer" may not send config to gateway\/gw/);
  assert.equal(result.data, undefined, 'no config in a refusal');
});

test('a repeated command id is answered with the first result, duplicate: true, not run again', async (t) => {
  const { client, results } = await startSession(t, device, RESULTS);
  const id = uniqueId('dup-status');
  await sendToGateway(client, 'status', { id });
  const first = await resultFor(results, id);
  await sendToGateway(client, 'status', { id });
  const [, second] = await resultsFor(results, id, 2);
  assert.equal(second.duplicate, true);
  const { duplicate: _flag, ...rest } = second;
  assert.deepEqual(rest, first, 'the first result, data and timing included');
});

test('an expired command is refused expired and not run', async (t) => {
  const { client, results } = await startSession(t, device, RESULTS, { commands: { max_age_ms: 1000, clock_skew_ms: 500 } });
  const id = uniqueId('old-reload');
  await sendToGateway(client, 'resync', { id, sent_at: Date.now() - 600_000 });
  const result = await resultFor(results, id);
  assert.equal(result.code, 'expired');
  assert.equal(result.data, undefined);
});

test('bad arguments are bad_request with a message naming the key; unknown commands and other gateways are refused', async (t) => {
  const { client, results } = await startSession(t, device, ALL_RESULTS);
  const cases: [string, unknown, RegExp][] = [
    ['journal', { limit: JOURNAL_MAX_LIMIT + 1 }, new RegExp(`limit must be between 1 and ${JOURNAL_MAX_LIMIT}, got ${JOURNAL_MAX_LIMIT + 1}`)],
    ['journal', { limit: '10' }, /limit must be an integer, got "10"/],
    ['journal', { type: 'door' }, /type must be one of "command", .*got "door"/],
    ['journal', { since: 2000, until: 1000 }, /until must not be before since \(2000\), got 1000/],
    ['journal', { rows: 5 }, /rows unknown key \(allowed: since, until, device, type, limit\)/],
    ['status', { verbose: true }, /verbose unknown key \(allowed: none\)/],
    ['resync', { device: 7 }, /device must be text/],
  ];
  for (const [command, args, message] of cases) {
    const id = uniqueId(`bad-${command}`);
    await sendToGateway(client, command, { id, ...(args as object) });
    const result = await resultFor(results, id);
    assert.equal(result.code, 'bad_request', `${command} ${JSON.stringify(args)}`);
    assert.match(result.message, message);
  }
  const unknown = uniqueId('reboot');
  await sendToGateway(client, 'reboot', { id: unknown });
  const refused = await resultFor(results, unknown);
  assert.equal(refused.code, 'unknown_command');
  assert.match(refused.message, /a gateway has no command reboot \(known: status, devices, journal, outbox, reload, resync, config\)/);

  const other = uniqueId('other-gw');
  await sendToGateway(client, 'status', { id: other }, 'gw-2');
  assert.equal((await resultFor(results, other)).code, 'unknown_device');
});

test('a result stays within broker.limits.max_packet_bytes: a long journal is cut, with more: true', async (t) => {
  const maxPacket = 8192;
  const dataDir = tempDataDir(t);
  const doc = await configDocument(device.port, dataDir);
  (doc.broker as Record<string, unknown>).limits = { max_packet_bytes: maxPacket };
  const gw = await startGatewayFrom(t, doc);
  const client = await clientAs(t, gw.port, 'guard');
  const results = await watch(client, ALL_RESULTS);
  // Rows of about 250 bytes each: 60 of them are more than one 8 KiB packet holds.
  const padding = 'x'.repeat(120);
  let last = '';
  for (let i = 0; i < 60; i++) {
    last = `fill-${i}-${padding}`.slice(0, 64);
    await sendCommand(client, GATE_A, 'lock', { id: last });
  }
  await resultFor(results, last);
  const data = await until('every lock in the journal', async () => {
    const id = uniqueId('big');
    await sendToGateway(client, 'journal', { id, device: GATE_A.id, limit: JOURNAL_MAX_LIMIT });
    const result = await resultFor(results, id);
    // The PUBLISH: fixed header (5 bytes at most), topic (2 + its length), packet id (2), payload.
    const packet = 5 + 2 + RESULTS.length + 2 + Buffer.byteLength(JSON.stringify(result));
    assert.ok(packet <= maxPacket, `a result packet of ${packet} bytes within ${maxPacket}`);
    const got = dataOf(result);
    return (got.rows as { command_id: string }[]).at(-1)?.command_id === last && got;
  });
  assert.equal(data.more, true);
  const rows = data.rows as unknown[];
  assert.ok(rows.length > 5 && rows.length < 60, `${rows.length} rows`);
});
