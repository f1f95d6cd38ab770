import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ConfigIssue, ModbusAccess } from '../../src/driver-api.js';
import { loadConfig } from '../../src/config.js';
import { builtinRegistries } from '../../src/registries.js';
import { transportRegistry, type TransportDefinition } from '../../src/transport/definition.js';
import { builtinTransports, type TransportConfig } from '../../src/transport/registry.js';
import { startModbusDevice } from '../support/modbus-device.js';
import { within } from '../support/wait.js';

const quiet = { debug() {}, info() {}, warn() {}, error() {} };

test('a modbus-tcp config from the user file builds a working transport', async (t) => {
  const dev = await startModbusDevice();
  t.after(() => dev.stop());
  const cfg: TransportConfig = {
    type: 'modbus-tcp',
    host: '127.0.0.1',
    port: dev.port,
    timeout_ms: 300,
    backoff: { initial_ms: 50, max_ms: 400 },
  };
  const transport = builtinTransports[cfg.type].create('panel-a', cfg, quiet);
  t.after(() => transport.stop());
  assert.equal(transport.connected, false, 'inert until started');
  assert.equal(transport.access.kind, 'modbus');
  assert.equal(transport.access.name, 'panel-a');

  const events: string[] = [];
  const up = new Promise<void>((resolve) =>
    transport.on('up', () => {
      events.push('up');
      resolve();
    }),
  );
  const down = new Promise<void>((resolve) =>
    transport.on('down', () => {
      events.push('down');
      resolve();
    }),
  );
  await transport.start();
  await within(up, "the 'up' event");
  assert.equal(transport.connected, true);
  await dev.set(1, 'ir', 0, [99]);
  assert.deepEqual(await (transport.access as ModbusAccess).readInputRegisters(1, 0, 1, { priority: 'poll' }), [99]);

  await dev.kill();
  await within(down, "the 'down' event");
  assert.equal(transport.connected, false);
  assert.deepEqual(events, ['up', 'down']);
});

test('two definitions of one type are refused', () => {
  assert.throws(() => transportRegistry([builtinTransports['modbus-tcp'], builtinTransports['modbus-tcp']]), /two transport definitions of type modbus-tcp/);
});

// Every shipped definition describes itself: an invariant over the registry, as a new transport must too.
for (const [type, definition] of Object.entries(builtinTransports)) {
  test(`${type}: a self-describing definition (summary, documented keys, defaults, parse, describe)`, () => {
    assert.equal(definition.type, type);
    assert.match(definition.summary, /^\S.{20,}\.$/, 'one sentence');
    for (const key of Object.keys(definition.fields)) assert.match(key, /^[a-z0-9_]+$/);
    for (const key of definition.keys) assert.ok(key.doc.length > 10, `${type}.${key.key} is documented`);
    // An entry with only its type: every required key is reported under the transport's path.
    const issues: { path: string; message: string }[] = [];
    definition.parse({ type }, 'transports.t', issues);
    const required = definition.keys.filter((k) => k.required).map((k) => `transports.t.${k.key}`);
    assert.deepEqual(issues.map((i) => i.path).sort(), [...required].sort(), JSON.stringify(issues));
    // A misspelt key is named with the key meant.
    const misspelt: { path: string; message: string }[] = [];
    definition.parse({ type, timeout: 5 }, 'transports.t', misspelt);
    const hint = misspelt.find((i) => i.path === 'transports.t.timeout');
    const expected = Object.hasOwn(definition.fields, 'timeout_ms') ? /^unknown key \(did you mean "timeout_ms"\?\)/ : /^unknown key/;
    assert.ok(hint && expected.test(hint.message), JSON.stringify(misspelt));
  });
}

test('describe names where each transport connects, without secrets', () => {
  const parsed = (type: string, entry: Record<string, unknown>) => {
    const issues: ConfigIssue[] = [];
    const cfg = builtinTransports[type].parse({ type, ...entry }, 'transports.t', issues);
    assert.deepEqual(issues, []);
    return builtinTransports[type].describe(cfg);
  };
  assert.equal(parsed('modbus-tcp', { host: '10.0.0.5' }), '10.0.0.5:502');
  assert.equal(parsed('modbus-rtu', { path: '/dev/ttyUSB0', parity: 'even' }), '/dev/ttyUSB0 9600 8E1');
  assert.equal(parsed('serial-line', { path: '/dev/ttyS1', baud_rate: 19200 }), '/dev/ttyS1 19200 8N1');
  assert.equal(parsed('onvif', { xaddr: 'http://10.0.0.9/onvif/device_service', user: 'u', password: 'secret-pw' }), 'http://10.0.0.9/onvif/device_service');
});

test('config loading takes the registry it is handed: a new transport is its definition plus one registry line', () => {
  const loopback: TransportDefinition<{ type: 'loopback'; label: string }> = {
    type: 'loopback',
    summary: 'A transport that only exists in this test, to show config needs no other change.',
    fields: {},
    keys: [{ key: 'label', required: true, doc: 'A name to show.' }],
    parse(entry, path, issues) {
      if (typeof entry.label !== 'string') issues.push({ path: `${path}.label`, message: 'must be a string' });
      return { type: 'loopback', label: String(entry.label) };
    },
    describe: (cfg) => cfg.label,
    create: () => {
      throw new Error('not started in this test');
    },
  };
  const document = { site: 'lab', transports: { lo: { type: 'loopback', label: 'here' } } };
  const withIt = loadConfig({ document, env: {}, registries: { ...builtinRegistries, transports: transportRegistry([...Object.values(builtinTransports), loopback]) } });
  assert.ok(withIt.ok, JSON.stringify(withIt));
  assert.deepEqual(withIt.config.transports.lo, { type: 'loopback', label: 'here' });
  const without = loadConfig({ document: { ...document, transports: { lo: { type: 'loopbak', label: 'here' } } }, env: {}, registries: { ...builtinRegistries, transports: transportRegistry([...Object.values(builtinTransports), loopback]) } });
  assert.equal(without.ok, false);
  assert.match((without as { issues: ConfigIssue[] }).issues[0].message, /unknown transport type "loopbak" \(did you mean "loopback"\?\)/);
});
