import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfig, parseConfigDocument } from '../src/config.js';
import { demo, expectIssue, issuesOf } from './config/support.js';

const HASH = demo().users[0].password_hash as string;

describe('config', () => {
  it('accepts the demo config and the example site, applying defaults', () => {
    const result = loadConfig({ document: demo(), env: {} });
    assert.ok(result.ok);
    const { config } = result;
    assert.equal(config.devices.length, 5, 'two gates, a turnstile, the lobby camera and the garage barrier');
    assert.equal(config.devices.find((d) => d.id === 'lobby-cam')?.transport, 'camera-sim');
    assert.deepEqual(config.links.map((l) => l.name), ['main-gate-snapshot', 'lobby-motion-snapshot']);
    assert.equal(config.devices[0].command_timeout_ms, 5000);
    assert.equal(config.devices[0].settings.relock_grace_ms, 1500, 'a kind setting default');
    assert.equal(config.commands.dedupe_window_ms, 86_400_000);
    assert.equal(config.transports.simulator.backoff.max_ms, 5000);
    assert.ok(Object.isFrozen(config) && Object.isFrozen(config.devices[0].settings), 'frozen after validation');
    const example = loadConfig({ file: 'config/example-site.yaml', env: {} });
    assert.ok(example.ok, example.ok ? '' : JSON.stringify(example.issues));
  });

  it('takes GATEHOUSE_* environment overrides and --data-dir', () => {
    const result = loadConfig({
      document: demo(),
      env: { GATEHOUSE_BROKER_PORT: '0', GATEHOUSE_LOG_LEVEL: 'debug', GATEHOUSE_COMMANDS_TIMEOUT_MS: '700', GATEHOUSE_SITE: 'other' },
      overrides: { data_dir: '/tmp/x' },
    });
    assert.ok(result.ok);
    assert.equal(result.config.broker.port, 0);
    assert.equal(result.config.log.level, 'debug');
    assert.equal(result.config.site, 'other');
    assert.equal(result.config.data_dir, '/tmp/x');
    assert.equal(result.config.devices[0].command_timeout_ms, 700, 'the device default follows commands.timeout_ms');
  });

  it('names the variable\'s key when an environment override is bad', () => {
    expectIssue(issuesOf(demo(), { GATEHOUSE_BROKER_PORT: 'abc' }), 'broker.port', /got "abc" \(from the environment variable GATEHOUSE_BROKER_PORT\)/);
  });

  it('reports every problem at once, each with its key path', () => {
    const doc = demo();
    doc.colour = 'blue';
    doc.site = 'Demo Site';
    doc.broker.anonymous.subscribe = ['site/#/x'];
    doc.commands.timeout_ms = -5;
    const added = doc.users.push({ username: 'guard', password_hash: 'hunter2', publish: ['a/+b'], subscribe: [] }) - 1;
    doc.transports.plc = { type: 'modbus-udp', host: 'x' };
    doc.transports.simulator.port = 70000;
    // Devices are named by id (devices[x1]); one without a usable id by its index (devices[n]).
    const n = doc.devices.length;
    doc.devices.push({ ...doc.devices[0] });
    doc.devices.push({ id: 'Bad Id', kind: 'gate', driver: 'modbus', transport: 'nowhere', options: { unit: 1, outputs: { unlock: { coil: 0 } } } });
    doc.devices.push({ id: 'x1', kind: 'elevator', driver: 'bacnet', transport: 'simulator' });
    doc.devices.push({ id: 'x2', kind: 'gate', driver: 'modbus', transport: 'simulator', unlock_ms: 50, pulse_ms: 3, options: { unit: 1, outputs: {} } });
    doc.devices.push({ id: 'x3', kind: 'gate', driver: 'modbus', transport: 'simulator', unlock_ms: 70_000, options: { unit: 1, outputs: { unlock: { coil: 0 } } } });
    const issues = issuesOf(doc);
    expectIssue(issues, 'colour', /unknown key/);
    expectIssue(issues, 'site', /a-z 0-9/);
    expectIssue(issues, 'broker.anonymous.subscribe', /not a valid MQTT topic filter/);
    expectIssue(issues, 'commands.timeout_ms', /positive integer/);
    expectIssue(issues, `users[${added}].username`, /duplicate user/);
    expectIssue(issues, `users[${added}].password_hash`, /gatehouse passwd/);
    expectIssue(issues, `users[${added}].publish[0]`, /a\/\+b/);
    expectIssue(issues, 'transports.plc.type', /unknown transport type "modbus-udp"/);
    expectIssue(issues, 'transports.simulator.port', /between 1 and 65535/);
    expectIssue(issues, `devices[${n}].id`, /duplicate device id "main-gate" \(also the 1st device\)/);
    expectIssue(issues, `devices[${n + 1}].id`, /a-z 0-9/);
    expectIssue(issues, `devices[${n + 1}].transport`, /no transport named "nowhere"/);
    expectIssue(issues, 'devices[x1].kind', /unknown kind "elevator"/);
    expectIssue(issues, 'devices[x1].driver', /unknown driver "bacnet"/);
    expectIssue(issues, 'devices[x2].unlock_ms', /between 100/);
    expectIssue(issues, 'devices[x2].pulse_ms', /unknown key for a gate/);
    expectIssue(issues, 'devices[x2].options.outputs.unlock', /./);
    expectIssue(issues, 'devices[x3].unlock_ms', /must not exceed max_unlock_ms/);
    assert.ok(issues.length >= 18);
  });

  it('reports an unreadable file and a YAML syntax error as issues, not crashes', () => {
    const missing = loadConfig({ file: '/nonexistent/gatehouse.yaml', env: {} });
    assert.equal(missing.ok, false);
    const broken = loadConfig({ document: undefined, file: 'package-lock.json.nope', env: {} });
    assert.equal(broken.ok, false);
    assert.throws(() => parseConfigDocument('site: [unclosed', 'x.yaml'));
    assert.throws(() => parseConfigDocument('site: a\nsite: b\n', 'x.yaml'), /unique|duplicate/i, 'duplicate keys are an error');
  });

  it('refuses a document that is not a mapping', () => {
    assert.deepEqual(issuesOf(['a']), [{ path: '(root)', message: 'the config must be a mapping of keys' }]);
  });

  it('requires a site', () => {
    const doc = demo();
    delete doc.site;
    expectIssue(issuesOf(doc), 'site', /a-z 0-9/);
  });

  it('uses the hash printed by gatehouse passwd', () => {
    const doc = demo();
    doc.users = [{ username: 'u', password_hash: HASH, publish: [], subscribe: ['site/demo/#'] }];
    assert.ok(loadConfig({ document: doc, env: {} }).ok);
  });

  it('requires the de-duplication window to outlast every command that can still be valid', () => {
    const doc = demo();
    doc.commands.dedupe_window_ms = 1000;
    expectIssue(issuesOf(doc), 'commands.dedupe_window_ms', /must be longer than any command stays valid/);
  });
});

