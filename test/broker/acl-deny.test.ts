// Deny filters (users[].deny, broker.anonymous.deny): checked before the allow lists, for publish
// and subscribe. A filter a deny rule covers entirely is refused with 0x80; one that only overlaps
// a deny rule is granted and the denied topics are dropped at delivery, as mosquitto does. First
// the decisions, then a running broker with MQTT.js, raw SUBSCRIBE packets and mosquitto_pub/sub.
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import type { MqttClient } from 'mqtt';
import { Acl } from '../../src/broker/acl.js';
import type { UserEntry } from '../../src/broker/auth.js';
import { decideAuthorizeForward } from '../../src/broker/hooks/authorize-forward.js';
import { hashPassword } from '../../src/broker/password.js';
import { decidePublish } from '../../src/broker/publish-policy.js';
import { classifyTopic } from '../../src/topics.js';
import { mosquittoPub, mosquittoSub } from '../support/mosquitto.js';
import { loggedIn } from './hooks/sessions.js';
import { PACKET, RawClient, mqttClient, startBroker, subscribePacket, waitFor, type BrokerUnderTest } from './support.js';

const SITE = 'hq';
const classify = (topic: string) => classifyTopic(SITE, topic);
const IMAGES = `site/${SITE}/camera/+/image`;

// ---------------------------------------------------------------------------------------------
// Decisions

test('a deny filter wins over the allow lists for publish, and says so (acl_deny)', () => {
  const acl = new Acl({ publish: [`site/${SITE}/#`], subscribe: [], deny: [`site/${SITE}/gate/fire-exit/+`, 'lobby/private'] }, { username: 'u', clientId: 'c' });
  assert.equal(acl.publishRefusal(`site/${SITE}/gate/main/unlock`), null);
  assert.equal(acl.publishRefusal(`site/${SITE}/gate/fire-exit/unlock`), 'acl_deny');
  assert.equal(acl.publishRefusal('elsewhere/x'), 'acl');
  // A command under a deny filter still reaches the pipeline, which answers `forbidden`.
  assert.deepEqual(decidePublish(`site/${SITE}/gate/fire-exit/unlock`, classify, acl), { action: 'command', kind: 'gate', device: 'fire-exit', command: 'unlock', authorized: false });
  assert.deepEqual(decidePublish(`site/${SITE}/gate/main/unlock`, classify, acl), { action: 'command', kind: 'gate', device: 'main', command: 'unlock', authorized: true });
  const free = new Acl({ publish: ['lobby/#'], subscribe: [], deny: ['lobby/private'] }, { clientId: 'c' });
  assert.deepEqual(decidePublish('lobby/private', classify, free), { action: 'deny', reason: 'acl_deny' });
  assert.deepEqual(decidePublish('lobby/public', classify, free), { action: 'allow' });
});

test('subscribe: refused where a deny filter covers the whole filter, granted where it only overlaps', () => {
  // The Eclipse Paho interoperability suite's case: everything under +/+ except test/nosubscribe.
  const paho = new Acl({ publish: ['+/+'], subscribe: ['+/+'], deny: ['test/nosubscribe'] }, { clientId: 'c' });
  assert.equal(paho.subscribeRefusal('test/nosubscribe'), 'acl_deny');
  assert.equal(paho.subscribeRefusal('test/+'), null);
  assert.equal(paho.subscribeRefusal('+/+'), null);
  assert.equal(paho.subscribeRefusal('test/#'), 'acl', 'test/# is not covered by +/+ in the first place');
  assert.equal(paho.canReceive('test/nosubscribe'), false);
  assert.equal(paho.canReceive('test/other'), true);

  const guard = new Acl({ publish: [], subscribe: [`site/${SITE}/#`], deny: [IMAGES] }, { clientId: 'c' });
  for (const filter of [`site/${SITE}/#`, `site/${SITE}/camera/+/+`, `site/${SITE}/camera/cam1/#`, `site/${SITE}/gate/+/state`]) {
    assert.equal(guard.subscribeRefusal(filter), null, filter);
  }
  for (const filter of [IMAGES, `site/${SITE}/camera/cam1/image`]) assert.equal(guard.subscribeRefusal(filter), 'acl_deny', filter);
  assert.equal(guard.canReceive(`site/${SITE}/camera/cam1/image`), false);
  assert.equal(guard.canReceive(`site/${SITE}/camera/cam1/state`), true);
  // MQTT-4.7.2-1 holds for deny filters too: a wildcard-first deny does not reach $ topics.
  const all = new Acl({ publish: [], subscribe: ['#', '$SYS/#'], deny: ['#'] }, { clientId: 'c' });
  assert.equal(all.subscribeRefusal('$SYS/#'), null);
  assert.equal(all.subscribeRefusal('a/b'), 'acl_deny');
});

test('%u and %c in a deny filter fail closed: unfillable, the level denies every name', () => {
  const rules = { publish: ['clients/#'], subscribe: ['clients/#'], deny: ['clients/%u/secret', 'ids/%c'] };
  const named = new Acl(rules, { username: 'ann', clientId: 'c1' });
  assert.equal(named.canPublish('clients/ann/secret'), false);
  assert.equal(named.canPublish('clients/bob/secret'), true);
  const anonymous = new Acl(rules, { clientId: 'c1' });
  assert.equal(anonymous.canPublish('clients/ann/secret'), false);
  assert.equal(anonymous.canPublish('clients/bob/secret'), false);
  const sneaky = new Acl(rules, { username: 'a/b', clientId: '#' });
  assert.equal(sneaky.canPublish('clients/x/secret'), false);
  assert.equal(sneaky.canReceive('ids/anything'), false);
});

test('authorizeForward drops a denied topic even under a granted wildcard subscription', () => {
  const session = loggedIn('guard', { publish: [], subscribe: [`site/${SITE}/#`], deny: [IMAGES] }, { granted: new Map([[`site/${SITE}/#`, 1]]) });
  const policy = { classify, maxInflight: 10 };
  assert.deepEqual(decideAuthorizeForward(session, { topic: `site/${SITE}/camera/cam1/image`, qos: 1, dup: false }, policy), { action: 'drop' });
  assert.deepEqual(decideAuthorizeForward(session, { topic: `site/${SITE}/camera/cam1/state`, qos: 1, dup: false }, policy), { action: 'deliver', qos: 1, dup: false });
});

// ---------------------------------------------------------------------------------------------
// A running broker

const PASSWORD = 'deny-secret';
let users: Promise<UserEntry[]> | undefined;

/** paho: the Paho suite's user; guard: the site minus camera images; writer: publishes anything. */
function denyUsers(): Promise<UserEntry[]> {
  users ??= (async () => {
    const password_hash = await hashPassword(PASSWORD);
    return [
      { username: 'paho', password_hash, publish: ['+/+'], subscribe: ['+/+'], deny: ['test/nosubscribe'] },
      { username: 'guard', password_hash, publish: [`site/${SITE}/#`], subscribe: [`site/${SITE}/#`], deny: [IMAGES, `site/${SITE}/gate/fire-exit/unlock`] },
      { username: 'writer', password_hash, publish: ['#'], subscribe: ['#'] },
    ];
  })();
  return users;
}

async function startDenyBroker(t: TestContext, anonymous = { enabled: false, publish: [] as string[], subscribe: [] as string[], deny: [] as string[] }): Promise<BrokerUnderTest> {
  return startBroker(t, { users: await denyUsers(), anonymous });
}

const login = (username: string) => ({ username, password: PASSWORD });

/** The SUBACK return codes, one per filter (MQTT.js reports a 0x80 among them as an error carrying the packet). */
function subscribe(client: MqttClient, filters: string[]): Promise<number[]> {
  return new Promise((resolve, reject) =>
    client.subscribe(filters, { qos: 1 }, (err, granted) => {
      const suback = (err as { packet?: { granted?: number[] } } | undefined)?.packet?.granted;
      if (suback) resolve(suback);
      else if (err) reject(err);
      else resolve(filters.map((f) => granted!.find((g) => g.topic === f)!.qos));
    }),
  );
}

/** Messages `client` receives, as topic=payload, in order. */
function received(client: MqttClient): string[] {
  const seen: string[] = [];
  client.on('message', (topic, payload) => void seen.push(`${topic}=${payload.toString()}`));
  return seen;
}

async function publishAll(client: MqttClient, messages: [string, string][]): Promise<void> {
  for (const [topic, payload] of messages) await client.publishAsync(topic, payload, { qos: 1 });
}

test('Paho case: SUBACK 0x80 for test/nosubscribe only; test/+ is granted and never carries it', async (t) => {
  const { port, events } = await startDenyBroker(t);
  const raw = await RawClient.connected(t, port, { clientId: 'paho-raw', ...login('paho') });
  raw.send(subscribePacket(7, [{ filter: 'test/nosubscribe', qos: 2 }, { filter: 'test/+', qos: 1 }, { filter: '+/+', qos: 0 }]));
  const suback = await raw.next(PACKET.SUBACK);
  assert.deepEqual([...suback.body.subarray(2)], [0x80, 1, 0], 'MQTT-3.9.3: one return code per filter, the denied one 0x80');
  await raw.ping();
  assert.equal(raw.isClosed, false, 'a refused filter keeps the connection');
  const event = events.find((e) => e.type === 'subscribe_denied');
  assert.equal(event?.reason, 'acl_deny');
  assert.equal(event?.topic, 'test/nosubscribe');

  const sub = await mqttClient(t, port, { clientId: 'paho-sub', ...login('paho') });
  assert.deepEqual(await subscribe(sub, ['test/+']), [1]);
  const seen = received(sub);
  const writer = await mqttClient(t, port, { clientId: 'writer', ...login('writer') });
  await publishAll(writer, [['test/nosubscribe', 'hidden'], ['test/other', 'shown'], ['test/end', 'sentinel']]);
  await waitFor('the sentinel', () => seen.includes('test/end=sentinel'));
  assert.deepEqual(seen, ['test/other=shown', 'test/end=sentinel']);
});

test('mosquitto_sub gets 0x80 for the denied filter; mosquitto_pub to it is refused like any denied publish', async (t) => {
  const { port, events } = await startDenyBroker(t);
  const sub = await mosquittoSub({ port, ...login('paho'), clientId: 'paho-tool', topics: ['test/nosubscribe', 'test/+'], qos: 1 });
  t.after(() => sub.stop());
  assert.deepEqual(sub.granted, [128, 1]);

  const pub = await mosquittoPub({ port, ...login('paho'), topic: 'test/nosubscribe', message: 'x', qos: 1 });
  assert.notEqual(pub.code, 0, 'the connection is closed instead of PUBACK (MQTT-3.3.5-2)');
  const denied = await waitFor('publish_denied', () => events.find((e) => e.type === 'publish_denied'));
  assert.equal(denied.reason, 'acl_deny');
  const ok = await mosquittoPub({ port, ...login('paho'), topic: 'test/end', message: 'sentinel', qos: 1 });
  assert.equal(ok.code, 0, ok.stderr);
  await sub.waitFor((m) => m.topic === 'test/end');
  assert.deepEqual(sub.messages.map((m) => m.topic), ['test/end']);
});

test('overlap: site/# is granted, camera images (live and retained) never arrive, images filters get 0x80', async (t) => {
  const { broker, port } = await startDenyBroker(t);
  await broker.publish(`site/${SITE}/camera/cam1/image`, 'jpeg-retained', { qos: 1, retain: true });
  await broker.publish(`site/${SITE}/camera/cam1/state`, 'state-retained', { qos: 1, retain: true });
  const guard = await mqttClient(t, port, { clientId: 'guard', ...login('guard') });
  const seen = received(guard);
  assert.deepEqual(await subscribe(guard, [`site/${SITE}/#`, IMAGES, `site/${SITE}/camera/cam1/image`]), [1, 128, 128]);
  await waitFor('the retained state', () => seen.includes(`site/${SITE}/camera/cam1/state=state-retained`));
  await broker.publish(`site/${SITE}/camera/cam1/image`, 'jpeg-live', { qos: 1, retain: false });
  await broker.publish(`site/${SITE}/gate/main/state`, 'sentinel', { qos: 1, retain: false });
  await waitFor('the sentinel', () => seen.includes(`site/${SITE}/gate/main/state=sentinel`));
  assert.deepEqual(seen, [`site/${SITE}/camera/cam1/state=state-retained`, `site/${SITE}/gate/main/state=sentinel`]);
});

test('a command under a deny filter goes to the pipeline marked unauthorized; its neighbours are authorized', async (t) => {
  const { port, commands } = await startDenyBroker(t);
  const guard = await mqttClient(t, port, { clientId: 'guard-cmd', ...login('guard') });
  await guard.publishAsync(`site/${SITE}/gate/fire-exit/unlock`, '{}', { qos: 1 });
  await guard.publishAsync(`site/${SITE}/gate/main/unlock`, '{}', { qos: 1 });
  await waitFor('both commands', () => commands.length === 2);
  assert.deepEqual(commands.map((c) => [c.device, c.authorized]), [['fire-exit', false], ['main', true]]);
  assert.equal(guard.connected, true);
});

test('anonymous access has its deny list too', async (t) => {
  const { port } = await startDenyBroker(t, { enabled: true, publish: ['lobby/#'], subscribe: ['lobby/#'], deny: ['lobby/staff/#'] });
  const anon = await mqttClient(t, port, { clientId: 'anon' });
  assert.deepEqual(await subscribe(anon, ['lobby/#', 'lobby/staff/#', 'lobby/staff/rota']), [1, 128, 128]);
  const seen = received(anon);
  const writer = await mqttClient(t, port, { clientId: 'writer-anon', ...login('writer') });
  await publishAll(writer, [['lobby/staff/rota', 'hidden'], ['lobby/end', 'sentinel']]);
  await waitFor('the sentinel', () => seen.includes('lobby/end=sentinel'));
  assert.deepEqual(seen, ['lobby/end=sentinel']);
  const closed = new Promise<void>((resolve) => anon.once('close', () => resolve()));
  anon.publish('lobby/staff/rota', 'forged', { qos: 1 });
  await closed;
});

test('a reload that adds a deny filter applies to connected clients at once', async (t) => {
  const { broker, port } = await startDenyBroker(t);
  const guard = await mqttClient(t, port, { clientId: 'guard-reload', ...login('guard') });
  assert.deepEqual(await subscribe(guard, [`site/${SITE}/#`, `site/${SITE}/turnstile/+/event`]), [1, 1]);
  const seen = received(guard);

  const now = (await denyUsers()).map((u) => (u.username === 'guard' ? { ...u, deny: [...u.deny!, `site/${SITE}/turnstile/#`] } : u));
  assert.deepEqual(broker.updateAccess(now, { enabled: false, publish: [], subscribe: [] }), { disconnected: 0, updated: 1 });
  assert.equal(guard.connected, true);
  await broker.publish(`site/${SITE}/turnstile/t1/event`, 'hidden', { qos: 1, retain: false });
  await broker.publish(`site/${SITE}/gate/main/state`, 'sentinel', { qos: 1, retain: false });
  await waitFor('the sentinel', () => seen.includes(`site/${SITE}/gate/main/state=sentinel`));
  assert.deepEqual(seen, [`site/${SITE}/gate/main/state=sentinel`]);
  assert.deepEqual(await subscribe(guard, [`site/${SITE}/turnstile/+/event`]), [128], 'the new deny filter refuses it now');
});
