// The documented example users of config/example-site.yaml: their rules, read from the file, are
// checked with the real Acl and publish policy against real topics of the contract, and end to
// end in a running broker with MQTT.js.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { before, test, type TestContext } from 'node:test';
import { Acl } from '../../src/broker/acl.js';
import { Broker, type IncomingCommand, type SecurityEvent } from '../../src/broker/broker.js';
import { hashPassword } from '../../src/broker/password.js';
import { decidePublish } from '../../src/broker/publish-policy.js';
import { loadConfig, type UserConfig } from '../../src/config.js';
import { classifyTopic, topics } from '../../src/topics.js';
import { PACKAGE_ROOT } from '../cli/cli-process.js';
import { captureLogger, mqttClient, waitFor } from './support.js';

const SITE = 'riverside-tower';
const OTHER = 'harbour-view';
const classify = (topic: string) => classifyTopic(SITE, topic);

let users: Map<string, UserConfig>;
before(() => {
  const loaded = loadConfig({ file: join(PACKAGE_ROOT, 'config', 'example-site.yaml'), env: {} });
  if (!loaded.ok) throw new Error(`config/example-site.yaml is invalid: ${JSON.stringify(loaded.issues)}`);
  users = new Map(loaded.config.users.map((u) => [u.username, u]));
});

function aclOf(username: string): Acl {
  const user = users.get(username);
  assert.ok(user, `config/example-site.yaml has a user ${username}`);
  return new Acl({ publish: user.publish, subscribe: user.subscribe, deny: user.deny }, { username, clientId: `${username}-1` });
}

const gate = (id: string, leaf: string) => topics.command(SITE, 'gate', id, leaf);
const turnstile = (id: string, leaf: string) => topics.command(SITE, 'turnstile', id, leaf);
const camera = (id: string, leaf: string) => topics.command(SITE, 'camera', id, leaf);

/** Filters no example user may subscribe to: everything, other sites, the broker's own topics. */
const NEVER = ['#', '+/#', 'site/#', `site/${OTHER}/#`, `site/+/gate/+/state`, '$SYS/#', '$SYS/+/heartbeat'];

test('guard desk: unlocks and locks gates, drives turnstiles, reads the whole site and nothing else', () => {
  const acl = aclOf('guard-desk');
  for (const topic of [gate('main-gate', 'unlock'), gate('garage-barrier', 'lock'), turnstile('lobby-turnstile', 'pass'), turnstile('lobby-turnstile', 'unlock')]) {
    assert.deepEqual(decidePublish(topic, classify, acl), { action: 'command', ...commandParts(topic), authorized: true }, topic);
  }
  for (const topic of [camera('lobby-cam', 'ptz'), topics.command(OTHER, 'gate', 'main-gate', 'unlock')]) {
    assert.equal(acl.canPublish(topic), false, topic);
  }
  // Its deny list: the fire exit (an egress door) is never locked from the desk.
  assert.equal(acl.publishRefusal(gate('fire-exit', 'lock')), 'acl_deny');
  assert.equal(acl.canPublish(gate('fire-exit', 'unlock')), true);
  assert.deepEqual(decidePublish(topics.state(SITE, 'gate', 'main-gate'), classify, acl), { action: 'deny', reason: 'reserved_topic' });
  for (const filter of [topics.siteTree(SITE), topics.result(SITE, 'gate', 'main-gate'), topics.image(SITE, 'lobby-cam'), topics.gatewayState(SITE, 'edge-1'), `site/${SITE}/+/+/event`]) {
    assert.equal(acl.canSubscribe(filter), true, filter);
  }
  for (const filter of NEVER) assert.equal(acl.canSubscribe(filter), false, filter);
});

test('display: reads state, availability and events only, and commands nothing', () => {
  const acl = aclOf('lobby-display');
  for (const filter of [
    topics.state(SITE, 'gate', 'main-gate'),
    topics.availability(SITE, 'turnstile', 'lobby-turnstile'),
    topics.event(SITE, 'gate', 'fire-exit'),
    topics.gatewayAvailability(SITE, 'edge-1'),
    `site/${SITE}/+/+/state`,
    `site/${SITE}/gate/+/event`,
  ]) {
    assert.equal(acl.canSubscribe(filter), true, filter);
  }
  for (const filter of [topics.result(SITE, 'gate', 'main-gate'), topics.image(SITE, 'lobby-cam'), gate('main-gate', 'unlock'), `site/${SITE}/gate/main-gate/#`, topics.siteTree(SITE), ...NEVER]) {
    assert.equal(acl.canSubscribe(filter), false, filter);
  }
  for (const topic of [gate('main-gate', 'unlock'), turnstile('lobby-turnstile', 'pass'), camera('lobby-cam', 'snapshot')]) {
    const decision = decidePublish(topic, classify, acl);
    assert.equal(decision.action === 'command' && decision.authorized, false, `${topic} is answered forbidden`);
  }
  assert.deepEqual(decidePublish('lobby/notes', classify, acl), { action: 'deny', reason: 'acl' });
});

test('camera viewer: asks any camera for a snapshot, reads images and camera results, nothing more', () => {
  const acl = aclOf('camera-viewer');
  assert.deepEqual(decidePublish(camera('lobby-cam', 'snapshot'), classify, acl), { action: 'command', kind: 'camera', device: 'lobby-cam', command: 'snapshot', authorized: true });
  for (const topic of [camera('lobby-cam', 'ptz'), camera('lobby-cam', 'preset'), camera('lobby-cam', 'stop'), gate('main-gate', 'unlock'), topics.command(OTHER, 'camera', 'lobby-cam', 'snapshot')]) {
    assert.equal(acl.canPublish(topic), false, topic);
  }
  for (const filter of [topics.image(SITE, 'lobby-cam'), topics.result(SITE, 'camera', 'lobby-cam'), `site/${SITE}/camera/+/image`, `site/${SITE}/camera/+/result`]) {
    assert.equal(acl.canSubscribe(filter), true, filter);
  }
  for (const filter of [topics.state(SITE, 'camera', 'lobby-cam'), topics.event(SITE, 'camera', 'lobby-cam'), topics.result(SITE, 'gate', 'main-gate'), `site/${SITE}/camera/#`, `site/${SITE}/camera/lobby-cam/+`, ...NEVER]) {
    assert.equal(acl.canSubscribe(filter), false, filter);
  }
});

function commandParts(topic: string): { kind: string; device: string; command: string } {
  const [, , kind, device, command] = topic.split('/');
  return { kind, device, command };
}

// ---------------------------------------------------------------------------------------------
// The same rules in a running broker for the example site, with passwords of our own.

const PASSWORD = 'example-acl-test';

async function exampleBroker(t: TestContext): Promise<{ port: number; broker: Broker; commands: IncomingCommand[]; events: SecurityEvent[] }> {
  const hash = await hashPassword(PASSWORD);
  const { log } = captureLogger();
  const commands: IncomingCommand[] = [];
  const events: SecurityEvent[] = [];
  const broker = new Broker(
    {
      host: '127.0.0.1',
      port: 0,
      anonymous: { enabled: false, publish: [], subscribe: [] },
      users: [...users.values()].map((u) => ({ ...u, password_hash: hash })),
    },
    { classify, onCommand: (c) => void commands.push(c), onSecurityEvent: (e) => void events.push(e) },
    log,
  );
  t.after(() => broker.stop());
  await broker.start();
  return { port: broker.port, broker, commands, events };
}

test('the example users in a running broker: what they may subscribe to, receive and command', async (t) => {
  const { port, broker, commands, events } = await exampleBroker(t);
  await broker.publish(topics.state(SITE, 'gate', 'main-gate'), '{"lock":"locked"}', { qos: 1, retain: true });

  const display = await mqttClient(t, port, { username: 'lobby-display', password: PASSWORD });
  await assert.rejects(display.subscribeAsync('#'), /Subscribe error/);
  await assert.rejects(display.subscribeAsync(`site/${OTHER}/#`), /Subscribe error/);
  const states: string[] = [];
  display.on('message', (topic) => states.push(topic));
  await display.subscribeAsync(`site/${SITE}/+/+/state`, { qos: 1 });
  await waitFor('the retained state at the display', () => states.includes(topics.state(SITE, 'gate', 'main-gate')));
  await display.publishAsync(gate('main-gate', 'unlock'), '{}', { qos: 1 });

  const viewer = await mqttClient(t, port, { username: 'camera-viewer', password: PASSWORD });
  await viewer.subscribeAsync(`site/${SITE}/camera/+/image`, { qos: 1 });
  await assert.rejects(viewer.subscribeAsync(`site/${SITE}/+/+/state`), /Subscribe error/);
  await viewer.publishAsync(camera('lobby-cam', 'snapshot'), '{}', { qos: 1 });
  await viewer.publishAsync(gate('main-gate', 'unlock'), '{}', { qos: 1 });

  const desk = await mqttClient(t, port, { username: 'guard-desk', password: PASSWORD });
  await desk.subscribeAsync(`site/${SITE}/#`, { qos: 1 });
  await assert.rejects(desk.subscribeAsync(`site/${OTHER}/#`), /Subscribe error/);
  await assert.rejects(desk.subscribeAsync('$SYS/#'), /Subscribe error/);
  await desk.publishAsync(gate('main-gate', 'unlock'), '{}', { qos: 1 });

  await waitFor('four commands at the pipeline', () => commands.length === 4);
  assert.deepEqual(
    commands.map((c) => [c.username, `${c.kind}/${c.device}/${c.command}`, c.authorized]),
    [
      ['lobby-display', 'gate/main-gate/unlock', false],
      ['camera-viewer', 'camera/lobby-cam/snapshot', true],
      ['camera-viewer', 'gate/main-gate/unlock', false],
      ['guard-desk', 'gate/main-gate/unlock', true],
    ],
  );
  assert.deepEqual(
    events.map((e) => [e.username, e.type, e.topic]),
    [
      ['lobby-display', 'subscribe_denied', '#'],
      ['lobby-display', 'subscribe_denied', `site/${OTHER}/#`],
      ['camera-viewer', 'subscribe_denied', `site/${SITE}/+/+/state`],
      ['guard-desk', 'subscribe_denied', `site/${OTHER}/#`],
      ['guard-desk', 'subscribe_denied', '$SYS/#'],
    ],
  );
});
