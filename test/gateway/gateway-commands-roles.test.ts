// Who may send which of the gateway's commands, as config/demo.yaml and config/example-site.yaml
// grant them and docs/security.md documents them: their rules, read from the files, checked with
// the real Acl and publish policy (a command whose topic the ACL does not allow is answered
// `forbidden`), and the cloud's share by the example's uplink.allow_commands.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { Acl } from '../../src/broker/acl.js';
import { decidePublish } from '../../src/broker/publish-policy.js';
import { loadConfig, type GatehouseConfig } from '../../src/config.js';
import { gatewayCommands } from '../../src/devices/kinds/gateway.js';
import { classifyTopic, topics } from '../../src/topics.js';
import { CommandAllowList } from '../../src/uplink/allow-list.js';
import { PACKAGE_ROOT } from '../support/cli-process.js';

const COMMANDS = Object.keys(gatewayCommands);

function configFile(name: string): Readonly<GatehouseConfig> {
  const loaded = loadConfig({ file: join(PACKAGE_ROOT, 'config', name), env: {} });
  if (!loaded.ok) throw new Error(`config/${name} is invalid: ${JSON.stringify(loaded.issues)}`);
  return loaded.config;
}

/** The gateway commands `username` may send: those its ACL authorizes (the others are answered forbidden). */
function allowedCommands(config: Readonly<GatehouseConfig>, username: string | null): string[] {
  const rules = username === null ? config.broker.anonymous : config.users.find((u) => u.username === username);
  assert.ok(rules, `a user ${username}`);
  const acl = new Acl({ publish: rules.publish, subscribe: rules.subscribe }, { username: username ?? undefined, clientId: 'roles-1' });
  return COMMANDS.filter((command) => {
    const decision = decidePublish(topics.gatewayCommand(config.site, config.gateway_id, command), (t) => classifyTopic(config.site, t), acl);
    assert.equal(decision.action, 'command', `${username} ${command}: a command, answered either way`);
    return decision.action === 'command' && decision.authorized;
  });
}

test('the demo: the guard may ask for status, nothing else; the display and anonymous watchers nothing', () => {
  const demo = configFile('demo.yaml');
  assert.deepEqual(allowedCommands(demo, 'guard'), ['status']);
  assert.deepEqual(allowedCommands(demo, 'display'), []);
  assert.deepEqual(allowedCommands(demo, null), []);
});

test('the example site: the guard desk asks for status, the technician sends every gateway command, the others none', () => {
  const site = configFile('example-site.yaml');
  assert.deepEqual(allowedCommands(site, 'guard-desk'), ['status']);
  assert.deepEqual(allowedCommands(site, 'site-technician'), COMMANDS);
  for (const user of ['lobby-display', 'camera-viewer', 'parking-app']) assert.deepEqual(allowedCommands(site, user), [], user);
  // The technician's filter names this gateway's own topics, and commands no door.
  const technician = site.users.find((u) => u.username === 'site-technician')!;
  const acl = new Acl({ publish: technician.publish, subscribe: technician.subscribe }, { username: 'site-technician', clientId: 'roles-2' });
  assert.equal(acl.canPublish(topics.command(site.site, 'gate', 'main-gate', 'unlock')), false);
  // Its `+` also matches the gateway's result and state: reserved, refused whatever the ACL says.
  assert.deepEqual(decidePublish(topics.gatewayState(site.site, site.gateway_id), (t) => classifyTopic(site.site, t), acl), { action: 'deny', reason: 'reserved_topic' });
});

test("the example site's cloud: status, devices, outbox, journal and resync; never reload or config", () => {
  const site = configFile('example-site.yaml');
  const allow = new CommandAllowList(site.uplink.allow_commands);
  assert.deepEqual(
    COMMANDS.filter((c) => allow.allows('gateway', c)),
    ['status', 'devices', 'journal', 'outbox', 'resync'],
  );
  // "*" kinds cover every device kind, never the gateway.
  const everything = new CommandAllowList(['*/*']);
  assert.equal(everything.allows('gate', 'unlock'), true);
  assert.deepEqual(COMMANDS.filter((c) => everything.allows('gateway', c)), []);
  assert.deepEqual(COMMANDS.filter((c) => new CommandAllowList(['gateway/*']).allows('gateway', c)), COMMANDS);
});
