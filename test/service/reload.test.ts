// Configuration reload (SIGHUP): the plan on its own, then the real gateway as a child process
// reloading under load: devices added, removed and changed, a user's ACL changed and another user
// removed, a restart-only key changed; later an invalid config, rejected whole.
import assert from 'node:assert/strict';
import { copyFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { hashPassword } from '../../src/broker/password.js';
import type { CommandResult } from '../../src/commands/result.js';
import { differingPaths, planReload } from '../../src/service/reload.js';
import { topics } from '../../src/topics.js';
import { servedFingerprint } from '../broker/listener-support.js';
import { isLog, siteFiles, spawnService } from '../support/gateway-process.js';
import { parseResult, uniqueId } from '../support/gateway.js';
import { connectClient, subscribeCollect, type Collector, type MqttClient } from '../support/mqtt-client.js';
import { fingerprintOf, makePki } from '../support/pki.js';
import { GATE_A, GATE_B, SITE, TURNSTILE, USERS, configDocument, loadHarnessConfig, siteDevice } from '../support/site.js';
import { until } from '../support/wait.js';
import { listenForNotifications } from './notify-socket.js';

const WAIT_MS = 30_000;
const GATE_C = { kind: 'gate', id: 'gate-c', unit: 4 } as const;

type Ref = { kind: string; id: string };
const commandTopic = (ref: Ref, command: string) => topics.command(SITE, ref.kind, ref.id, command);
const topicOf = (ref: Ref, leaf: 'availability') => topics[leaf](SITE, ref.kind, ref.id);

type Doc = Record<string, unknown> & { devices: Record<string, unknown>[]; users: Record<string, unknown>[]; transports: Record<string, Record<string, unknown>> };

const clone = <T>(value: T): T => structuredClone(value);

// ---------------------------------------------------------------------------------------------
// The plan

test('differingPaths names every changed leaf; lists and scalars compare whole', () => {
  assert.deepEqual(differingPaths({ a: 1, b: { c: [1, 2], d: 'x' } }, { a: 1, b: { c: [1, 3], d: 'x', e: true } }), ['b.c', 'b.e']);
  assert.deepEqual(differingPaths({ a: 1 }, { a: 1 }), []);
});

test('the plan: what changes at run time, what needs a restart, what is left alone', async () => {
  const base = (await configDocument(1502, '/tmp/gatehouse-plan')) as Doc;
  const current = loadHarnessConfig(base);
  assert.deepEqual(planReload(current, loadHarnessConfig(clone(base))), {
    effective: planReload(current, current).effective,
    needsRestart: [],
    transports: { added: [], removed: [], changed: [] },
    devices: { added: [], removed: [], changed: [], unchanged: ['gate-a', 'gate-b', 'lobby'] },
    links: false,
    access: false,
    settings: false,
  });

  const next = clone(base);
  next.devices = next.devices.filter((d) => d.id !== 'gate-b');
  next.devices.find((d) => d.id === 'lobby')!.pulse_ms = 300;
  next.devices.push({ ...clone(base.devices[0]), id: 'gate-c', options: { unit: 4, outputs: { unlock: { coil: 0 } } } });
  next.transports.spare = { type: 'modbus-tcp', host: '127.0.0.1', port: 1503 };
  next.users = [{ ...next.users[0], publish: [] }, next.users[1]];
  next.commands = { ...(next.commands as object), queue_limit: 4 };
  next.broker = { ...(next.broker as object), port: 1884, anonymous: { enabled: true, subscribe: ['site/#'] } };
  next.site = 'elsewhere';
  const plan = planReload(current, loadHarnessConfig(next));
  assert.deepEqual(plan.devices, { added: ['gate-c'], removed: ['gate-b'], changed: ['lobby'], unchanged: ['gate-a'] });
  assert.deepEqual(plan.transports, { added: ['spare'], removed: [], changed: [] });
  assert.deepEqual(plan.needsRestart.sort(), ['broker.port', 'site', 'uplink.client_id']);
  assert.equal(plan.access, true);
  assert.equal(plan.settings, true);
  assert.equal(plan.links, false);
  // Restart-only keys keep their running values; the rest is the new config.
  assert.equal(plan.effective.site, current.site);
  assert.equal(plan.effective.broker.port, current.broker.port);
  assert.equal(plan.effective.broker.anonymous.enabled, true);
  assert.equal(plan.effective.commands.queue_limit, 4);
  assert.deepEqual(plan.effective.devices.map((d) => d.id), ['gate-a', 'lobby', 'gate-c']);
  assert.ok(Object.isFrozen(plan.effective) && Object.isFrozen(plan.effective.broker));
});

test('the plan: a changed transport takes every device on it along', async () => {
  const base = (await configDocument(1502, '/tmp/gatehouse-plan')) as Doc;
  const next = clone(base);
  next.transports.plc.timeout_ms = 900;
  const plan = planReload(loadHarnessConfig(base), loadHarnessConfig(next));
  assert.deepEqual(plan.transports.changed, ['plc']);
  assert.deepEqual(plan.devices, { added: [], removed: [], changed: ['gate-a', 'gate-b', 'lobby'], unchanged: [] });
});

// ---------------------------------------------------------------------------------------------
// The real gateway, reloading under load

const device = siteDevice({ units: [GATE_A.unit, GATE_B.unit, TURNSTILE.unit, GATE_C.unit], reset: false });

interface Sender {
  client: MqttClient;
  results: Collector;
  /** Publishes a command and resolves with its result. */
  command(ref: Ref, command: string, args?: Record<string, unknown>): Promise<CommandResult>;
}

async function sender(t: TestContext, port: number, user: { username: string; password: string }): Promise<Sender> {
  const client = await connectClient({ port, ...user });
  t.after(() => client.endAsync(true));
  const results = await subscribeCollect(client, `site/${SITE}/+/+/result`);
  return {
    client,
    results,
    async command(ref, command, args = {}) {
      const id = uniqueId(command);
      await client.publishAsync(commandTopic(ref, command), JSON.stringify({ id, ...args }), { qos: 1 });
      return parseResult(await results.waitFor((m) => parseResult(m).id === id, WAIT_MS));
    },
  };
}

test('SIGHUP under load: devices added, removed and changed, an ACL changed and a user removed; the unchanged gate loses no command', async (t) => {
  const manager = listenForNotifications(t);
  const site = await siteFiles(t, device.port);
  const initial = clone(site.document) as Doc;
  initial.users.push({ ...initial.users[0], username: 'temp' });
  site.write(initial);
  const gateway = spawnService(t, site.file, { env: { NOTIFY_SOCKET: manager.path } });
  await manager.waitFor('READY=1', (n) => n.fields.get('READY') === '1', WAIT_MS);

  const brokerPort = await gateway.brokerPort();
  const guard = await sender(t, brokerPort, USERS.guard);
  const viewer = await sender(t, brokerPort, USERS.viewer);
  const temp = await connectClient({ port: brokerPort, username: 'temp', password: USERS.guard.password });
  t.after(() => temp.endAsync(true));
  const tempClosed = new Promise<void>((resolve) => temp.once('close', () => resolve()));
  const watcher = await sender(t, brokerPort, USERS.guard);
  const availability = await subscribeCollect(watcher.client, `site/${SITE}/+/+/availability`);
  assert.equal((await viewer.command(GATE_A, 'unlock')).code, 'forbidden', 'the viewer may not command before the reload');

  // The load: four clients' worth of unlocks to gate A, each waiting for its result.
  const sent: string[] = [];
  let loading = true;
  const worker = async () => {
    while (loading) {
      const id = uniqueId('load');
      sent.push(id);
      await guard.client.publishAsync(commandTopic(GATE_A, 'unlock'), JSON.stringify({ id, duration_ms: 100 }), { qos: 1 });
      await guard.results.waitFor((m) => parseResult(m).id === id, WAIT_MS);
    }
  };
  const workers = Promise.all([worker(), worker(), worker(), worker()]);
  await until('load under way', () => sent.length >= 20, WAIT_MS);

  const next = clone(initial);
  next.devices = next.devices.filter((d) => d.id !== GATE_B.id);
  next.devices.find((d) => d.id === TURNSTILE.id)!.pulse_ms = 200;
  next.devices.push({ ...clone(initial.devices[0]), id: GATE_C.id, name: 'Gate C', options: { unit: GATE_C.unit, outputs: { unlock: { coil: 0 } } } });
  next.users = [initial.users[0], { ...initial.users[1], publish: [commandTopic(GATE_A, 'unlock')] }];
  next.broker = { ...(initial.broker as object), port: 1 };
  site.write(next);
  const writesBefore = device.writes.length;
  const notificationsBefore = manager.notifications.length;
  gateway.signal('SIGHUP');
  await manager.waitFor('RELOADING=1', (n) => n.fields.get('RELOADING') === '1', WAIT_MS);
  await manager.waitFor('READY=1 after the reload', (n) => manager.notifications.indexOf(n) >= notificationsBefore && n.fields.get('READY') === '1', WAIT_MS);
  const reloaded = await gateway.waitForLog('reloaded', isLog('configuration reloaded'));
  assert.deepEqual(reloaded.devices, { added: [GATE_C.id], removed: [GATE_B.id], changed: [TURNSTILE.id] });
  const restart = await gateway.waitForLog('needs a restart', (l) => Array.isArray(l.keys));
  assert.deepEqual(restart.keys, ['broker.port']);
  assert.equal(restart.level, 40);

  const afterReload = sent.length;
  await until('more load after the reload', () => sent.length >= afterReload + 20, WAIT_MS);
  loading = false;
  await workers;
  // Exactly one result per command, every one ok: the unchanged gate was not disturbed.
  const answers = guard.results.messages.map(parseResult).filter((r) => r.device === GATE_A.id);
  for (const id of sent) {
    const mine = answers.filter((r) => r.id === id);
    assert.equal(mine.length, 1, `one result for ${id}`);
    assert.equal(mine[0].status, 'ok', `${id}: ${mine[0].code} ${mine[0].message}`);
  }

  // The added gate: safe state written, online, commandable.
  await availability.waitFor((m) => m.topic === topicOf(GATE_C, 'availability') && m.payload.toString() === 'online', WAIT_MS);
  assert.ok(device.writes.slice(writesBefore).some((w) => w.unit === GATE_C.unit && w.table === 'co' && w.values[0] === false), 'gate C got its safe state');
  assert.equal((await guard.command(GATE_C, 'unlock')).status, 'ok');
  // The changed turnstile: a new instance, its safe state written again, online, commandable.
  assert.ok(device.writes.slice(writesBefore).some((w) => w.unit === TURNSTILE.unit && w.address === 2 && w.values[0] === false), 'the turnstile got its safe state again');
  assert.equal((await guard.command(TURNSTILE, 'pass', { direction: 'in' })).status, 'ok');
  // The removed gate: unknown, announced offline, then its retained topics deleted.
  const gone = await guard.command(GATE_B, 'unlock');
  assert.equal(gone.code, 'unknown_device');
  const gateB = () => availability.messages.filter((m) => m.topic === topicOf(GATE_B, 'availability')).map((m) => m.payload.toString());
  await until('gate B offline, then deleted', () => gateB().slice(-2).join('|') === 'offline|', WAIT_MS);
  const late = await sender(t, brokerPort, USERS.guard);
  const retained = await subscribeCollect(late.client, `site/${SITE}/+/+/availability`);
  await until('the retained availabilities', () => new Set(retained.messages.map((m) => m.topic)).size >= 4, WAIT_MS);
  // A round trip after the SUBACK: every retained message for the subscription came before it.
  await late.command(GATE_A, 'lock');
  assert.deepEqual(
    [...new Set(retained.messages.map((m) => m.topic))].sort(),
    [topicOf(GATE_A, 'availability'), topicOf(GATE_C, 'availability'), topicOf(TURNSTILE, 'availability'), topics.gatewayAvailability(SITE, 'gw')].sort(),
  );

  // Access: the viewer's new ACL applies on its open connection; the removed user was disconnected.
  assert.equal((await viewer.command(GATE_A, 'unlock')).status, 'ok');
  assert.equal((await viewer.command(GATE_C, 'unlock')).code, 'forbidden');
  await tempClosed;

  // An invalid config: rejected whole, every problem named by its key path, the running config stays.
  const invalid = clone(next);
  invalid.devices[0].bogus = true;
  invalid.commands = { ...(invalid.commands as object), queue_limit: 0 };
  site.write(invalid);
  const beforeInvalid = manager.notifications.length;
  gateway.signal('SIGHUP');
  const rejected = await gateway.waitForLog('rejected', isLog(/^configuration reload rejected/));
  assert.equal(rejected.level, 50);
  const paths = (rejected.issues as { path: string }[]).map((i) => i.path).sort();
  assert.deepEqual(paths, ['commands.queue_limit', 'devices[gate-a].bogus']);
  assert.match(rejected.msg, /devices\[gate-a\]\.bogus: unknown key/);
  await manager.waitFor('READY=1 after the rejected reload', (n) => manager.notifications.indexOf(n) >= beforeInvalid && n.fields.get('READY') === '1', WAIT_MS);
  assert.equal((await guard.command(GATE_C, 'unlock')).status, 'ok');
  assert.equal((await guard.command(GATE_A, 'unlock')).status, 'ok');
  assert.equal((await guard.command(GATE_B, 'unlock')).code, 'unknown_device');

  gateway.signal('SIGTERM');
  assert.deepEqual(await gateway.exit(), { code: 0, signal: null });
});

test('SIGHUP without a change leaves every device alone', async (t) => {
  const site = await siteFiles(t, device.port);
  const gateway = spawnService(t, site.file);
  await gateway.waitForLog('online', isLog('gatehouse online'));
  const writesBefore = device.writes.length;
  gateway.signal('SIGHUP');
  const reloaded = await gateway.waitForLog('reloaded', isLog('configuration reloaded'));
  assert.deepEqual(reloaded.devices, { added: [], removed: [], changed: [] });
  assert.deepEqual(reloaded.needs_restart, []);
  // No safe state written again: nothing was restarted.
  const brokerPort = await gateway.brokerPort();
  const guard = await sender(t, brokerPort, USERS.guard);
  assert.equal((await guard.command(GATE_A, 'lock')).status, 'ok');
  const safeStateWrites = device.writes.slice(writesBefore).filter((w) => w.unit !== GATE_A.unit);
  assert.deepEqual(safeStateWrites, []);
  gateway.signal('SIGTERM');
  assert.equal((await gateway.exit()).code, 0);
});

test('a password change disconnects that user\'s clients; the new password logs in', async (t) => {
  const site = await siteFiles(t, device.port);
  const gateway = spawnService(t, site.file);
  await gateway.waitForLog('online', isLog('gatehouse online'));
  const brokerPort = await gateway.brokerPort();
  const viewer = await connectClient({ port: brokerPort, ...USERS.viewer });
  t.after(() => viewer.endAsync(true));
  const closed = new Promise<void>((resolve) => viewer.once('close', () => resolve()));
  const next = clone(site.document) as Doc;
  next.users[1] = { ...next.users[1], password_hash: await hashPassword('a-new-secret-9') };
  site.write(next);
  gateway.signal('SIGHUP');
  await gateway.waitForLog('reloaded', isLog('configuration reloaded'));
  await closed;
  const again = await connectClient({ port: brokerPort, username: USERS.viewer.username, password: 'a-new-secret-9' });
  await again.endAsync();
  await assert.rejects(connectClient({ port: brokerPort, ...USERS.viewer }), /bad user ?name or password/i, 'the old password is refused as a wrong password');
  gateway.signal('SIGTERM');
  assert.equal((await gateway.exit()).code, 0);
});

// Commands keep arriving for a gate that the reload removes, a turnstile it changes, a gate it adds
// and a gate it leaves alone: every command gets exactly one result (none dropped, none doubled).
test('SIGHUP while commands flow to removed, changed, added and untouched devices: exactly one result each', async (t) => {
  const site = await siteFiles(t, device.port);
  const gateway = spawnService(t, site.file);
  await gateway.waitForLog('online', isLog('gatehouse online'));
  const brokerPort = await gateway.brokerPort();
  const client = await connectClient({ port: brokerPort, ...USERS.guard });
  t.after(() => client.endAsync(true));
  const results = await subscribeCollect(client, `site/${SITE}/+/+/result`);

  const sent: { id: string; ref: Ref }[] = [];
  let loading = true;
  const worker = async (ref: Ref, command: string, args: Record<string, unknown>) => {
    while (loading) {
      const id = uniqueId(`${ref.id}-${command}`);
      sent.push({ id, ref });
      await client.publishAsync(topics.command(SITE, ref.kind, ref.id, command), JSON.stringify({ id, ...args }), { qos: 1 });
      await results.waitFor((m) => parseResult(m).id === id, WAIT_MS).catch(() => assert.fail(`no result for ${id} (${ref.id})`));
    }
  };
  const workers = Promise.all([
    worker(GATE_A, 'unlock', { duration_ms: 100 }),
    worker(GATE_A, 'unlock', { duration_ms: 100 }),
    worker(GATE_B, 'unlock', { duration_ms: 100 }),
    worker(GATE_B, 'unlock', { duration_ms: 100 }),
    worker(TURNSTILE, 'pass', { direction: 'in' }),
    worker(GATE_C, 'unlock', { duration_ms: 100 }),
  ]);
  await until('load under way', () => sent.length >= 30, WAIT_MS);

  const next = structuredClone(site.document) as Doc;
  next.devices = next.devices.filter((d) => d.id !== GATE_B.id);
  next.devices.find((d) => d.id === TURNSTILE.id)!.pulse_ms = 200;
  next.devices.push({ ...structuredClone(next.devices[0]), id: GATE_C.id, name: 'Gate C', options: { unit: GATE_C.unit, outputs: { unlock: { coil: 0 } } } });
  site.write(next);
  gateway.signal('SIGHUP');
  await gateway.waitForLog('reloaded', isLog('configuration reloaded'));
  const afterReload = sent.length;
  await until('more load after the reload', () => sent.length >= afterReload + 30, WAIT_MS);
  loading = false;
  await workers;
  // A last round trip: any second result of an earlier command was published before this one's.
  const last = uniqueId('last');
  await client.publishAsync(topics.command(SITE, GATE_A.kind, GATE_A.id, 'lock'), JSON.stringify({ id: last }), { qos: 1 });
  await results.waitFor((m) => parseResult(m).id === last, WAIT_MS);

  const byId = new Map<string, CommandResult[]>();
  for (const result of results.messages.map(parseResult)) byId.set(result.id, [...(byId.get(result.id) ?? []), result]);
  const codes: Record<string, Record<string, number>> = {};
  for (const { id, ref } of sent) {
    const mine = byId.get(id) ?? [];
    assert.equal(mine.length, 1, `${id} (${ref.id}): ${mine.length} results ${JSON.stringify(mine)}`);
    const code = mine[0].code ?? 'ok';
    (codes[ref.id] ??= {})[code] = (codes[ref.id][code] ?? 0) + 1;
    if (ref.id === GATE_A.id) assert.equal(code, 'ok', `${id} on the untouched gate: ${mine[0].message}`);
  }
  t.diagnostic(`result codes by device: ${JSON.stringify(codes)}`);
  // The reload did take effect under the load: gate B ended unknown, gate C got commandable.
  assert.ok(codes[GATE_B.id]?.unknown_device > 0, 'commands for the removed gate B end as unknown_device');
  assert.ok(codes[GATE_C.id]?.ok > 0, 'the added gate C answers ok');

  gateway.signal('SIGTERM');
  assert.deepEqual(await gateway.exit(), { code: 0, signal: null });
});

// Certificates are renewed at the same paths and SIGHUP sent to `gatehouse run`: the TLS listener
// serves the new certificate to new connections, and a broken file leaves the previous one in service.
test('SIGHUP reloads renewed TLS certificate files; a broken one keeps the previous certificate in service', async (t) => {
  const pki = makePki();
  t.after(() => pki.dispose());
  const files = { cert: join(pki.dir, 'live-server.pem'), key: join(pki.dir, 'live-server.key') };
  copyFileSync(pki.server.cert, files.cert);
  copyFileSync(pki.server.key, files.key);
  const renewed = pki.issue('server-renewed', { cn: 'localhost', san: 'DNS:localhost,IP:127.0.0.1' });

  const site = await siteFiles(t, device.port);
  const broker = site.document.broker as Record<string, unknown>;
  site.write({ ...site.document, broker: { ...broker, tls: { enabled: true, host: '127.0.0.1', port: 0, cert: files.cert, key: files.key } } });
  const gateway = spawnService(t, site.file);
  const listening = await gateway.waitForLog('the TLS listener', (l) => l.msg === 'broker listening' && l.protocol === 'mqtt+tls');
  const tlsPort = Number(listening.port);
  await gateway.waitForLog('online', isLog('gatehouse online'));
  assert.equal(await servedFingerprint(tlsPort, pki.ca), fingerprintOf(pki.server.cert));

  copyFileSync(renewed.cert, files.cert);
  copyFileSync(renewed.key, files.key);
  gateway.signal('SIGHUP');
  const reloaded = await gateway.waitForLog('the certificate reload', isLog('tls certificates reloaded'));
  assert.equal(reloaded.certificate, fingerprintOf(renewed.cert));
  assert.equal(await servedFingerprint(tlsPort, pki.ca), fingerprintOf(renewed.cert));

  writeFileSync(files.cert, 'not a certificate\n');
  gateway.signal('SIGHUP');
  const refused = await gateway.waitForLog('the refused reload', isLog('tls certificates not reloaded; the previous ones stay in use'));
  assert.match(JSON.stringify(refused.err), /BROKER_TLS_FILE_INVALID/);
  assert.equal(await servedFingerprint(tlsPort, pki.ca), fingerprintOf(renewed.cert));
  assert.equal(gateway.running, true);

  gateway.signal('SIGTERM');
  assert.equal((await gateway.exit()).code, 0);
});
