// The gateway's `reload` command (issue 16, section 1): what SIGHUP does, asked over MQTT. A real
// gateway runs from a config file; the command re-reads it. A good file is applied and the result
// says what changed; a broken one is refused with every error, and the running config stays.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import type { CommandResult } from '../../src/commands/result.js';
import { loadConfig } from '../../src/config.js';
import { Gateway } from '../../src/gateway.js';
import { topics } from '../../src/topics.js';
import { clientAs, resultFor, uniqueId, watch } from '../support/gateway.js';
import type { Collector, MqttClient } from '../support/mqtt-client.js';
import { GATEWAY_ID, GATE_B, SITE, configDocument, siteDevice, testLogger } from '../support/site.js';
import { makeTempDir, removeTempDir } from '../support/temp.js';

const device = siteDevice();

/** Publishes a command to the gateway (this one, or `gatewayId`) at QoS 1 and waits for its PUBACK. */
async function sendToGateway(client: MqttClient, command: string, payload: Record<string, unknown>, gatewayId = GATEWAY_ID): Promise<void> {
  await client.publishAsync(topics.gatewayCommand(SITE, gatewayId, command), JSON.stringify(payload), { qos: 1 });
}

interface FileGateway {
  file: string;
  document: Record<string, unknown>;
  client: MqttClient;
  results: Collector;
  ask(command: string, args?: Record<string, unknown>): Promise<CommandResult>;
}

/** A gateway run from a JSON config file, as `gatehouse run --config FILE` runs one, with a guard client on its results. */
async function fileGateway(t: TestContext): Promise<FileGateway> {
  const dir = makeTempDir('reload-cmd');
  const file = join(dir, 'site.json');
  const document = await configDocument(device.port, join(dir, 'data'));
  writeFileSync(file, JSON.stringify(document));
  // An empty env: GATEHOUSE_* variables of whoever runs the tests must not leak in.
  const readConfig = () => loadConfig({ file, env: {} });
  const loaded = readConfig();
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.issues));
  const gateway = new Gateway(loaded.config, testLogger(), undefined, { readConfig });
  t.after(async () => {
    await gateway.stop();
    removeTempDir(dir);
  });
  await gateway.start();
  const client = await clientAs(t, gateway.brokerPort, 'guard');
  const results = await watch(client, topics.gatewayResult(SITE, GATEWAY_ID));
  const ask = async (command: string, args: Record<string, unknown> = {}) => {
    const id = uniqueId(command);
    await sendToGateway(client, command, { id, ...args });
    return resultFor(results, id);
  };
  return { file, document, client, results, ask };
}

test('reload with a good file: applied, and the result says what changed', async (t) => {
  const gw = await fileGateway(t);
  const hashBefore = (await gw.ask('config')).data!.hash;

  const unchanged = await gw.ask('reload');
  assert.equal(unchanged.status, 'ok', unchanged.message);
  assert.equal(unchanged.data!.applied, true);
  assert.equal(unchanged.data!.changed, false);

  // gate-b goes, and the command timeout changes.
  const next = structuredClone(gw.document) as { devices: { id: string }[]; commands: Record<string, unknown> };
  next.devices = next.devices.filter((d) => d.id !== GATE_B.id);
  next.commands.timeout_ms = 3000;
  writeFileSync(gw.file, JSON.stringify(next));
  const result = await gw.ask('reload');
  assert.equal(result.status, 'ok', result.message);
  assert.deepEqual(result.data, {
    applied: true,
    changed: true,
    devices: { added: [], removed: [GATE_B.id], changed: [] },
    transports: { added: [], removed: [], changed: [] },
    links: false,
    access: false,
    settings: true,
    needs_restart: [],
  });
  // The running config is the new one: gate-b is gone from `devices`, and the hash moved.
  const devices = (await gw.ask('devices')).data!.devices as { id: string }[];
  assert.ok(!devices.some((d) => d.id === GATE_B.id));
  assert.notEqual((await gw.ask('config')).data!.hash, hashBefore);
});

test('reload with a broken file: every config error in the result, the running config unchanged', async (t) => {
  const gw = await fileGateway(t);
  const before = await gw.ask('config');

  const broken = structuredClone(gw.document) as { devices: Record<string, unknown>[]; commands: Record<string, unknown> };
  broken.devices[1].kind = 'gaet';
  broken.commands.timeout_ms = -5;
  broken.devices[0].unlock_ms = 'soon';
  writeFileSync(gw.file, JSON.stringify(broken));
  const result = await gw.ask('reload');
  assert.equal(result.status, 'error');
  assert.equal(result.code, 'device_error');
  assert.match(result.message, /^config refused, the running config stays: 3 problem\(s\): /);
  const errors = result.data!.errors as { path: string; message: string }[];
  assert.equal(result.data!.applied, false);
  assert.equal(result.data!.count, 3);
  // Each under its key, the device named by its id.
  assert.deepEqual(
    errors.map((e) => e.path).sort(),
    ['commands.timeout_ms', 'devices[gate-a].unlock_ms', 'devices[gate-b].kind'],
  );
  assert.match(errors.find((e) => e.path === 'devices[gate-b].kind')!.message, /unknown kind "gaet" \(did you mean "gate"\?\)/);
  for (const e of errors.slice(0, 3)) assert.ok(result.message.includes(`${e.path}: ${e.message}`), `the message names ${e.path}`);

  // Nothing changed: the same config (by its hash) and all three devices online.
  const after = await gw.ask('config');
  assert.equal(after.data!.hash, before.data!.hash);
  const status = await gw.ask('status');
  assert.deepEqual((status.data!.gateway as { devices: unknown }).devices, { total: 3, online: 3, offline: 0 });

  // A file that is not even JSON: refused likewise, naming the file.
  writeFileSync(gw.file, '{"site": ');
  const unreadable = await gw.ask('reload');
  assert.equal(unreadable.code, 'device_error');
  assert.equal((unreadable.data!.errors as { path: string }[])[0].path, gw.file);
  assert.match(unreadable.message, /cannot read config/);
});
