// The cloud link speaking MQTT 5 (uplink.protocol "5", issue 16 section 2) to a real mosquitto 2:
// a clean start with session expiry 0 and our receive maximum, the broker's receive maximum and
// maximum packet size respected, its reason codes (CONNACK, SUBACK, PUBACK, DISCONNECT) logged and
// kept, and the gateway's user properties on every message.
import assert from 'node:assert/strict';
import { after, before, describe, test, type TestContext } from 'node:test';
import mqtt from 'mqtt';
import { CloudLink, type LinkLogger, type LinkMessage } from '../../src/uplink/cloud-link.js';
import { publishPacketSize } from '../../src/uplink/mqtt5.js';
import { MemoryOutbox, type MessageClass } from '../../src/uplink/outbox.js';
import { dynsec, startCloudBroker, type CloudBroker } from './cloud-broker.js';
import { cloudSubscriber, type CloudSubscriber } from './cloud-subscriber.js';
import { msg } from './outbox-conformance.js';
import { uniqueId, until } from './uplink-harness.js';
import { wireTap } from './wire-tap.js';

const WAIT_MS = 15_000;
const RECEIVE_MAXIMUM = 3;
const MAX_PACKET = 2048;
const GATEWAY = { username: 'gatehouse', password: 'gatehouse-cloud-1' };
const OPS = { username: 'ops', password: 'ops-cloud-1' };
const USER_PROPERTIES = { gateway: 'gw-7', session: '42' };

interface LogLine {
  level: 'info' | 'warn' | 'error' | 'debug';
  obj: Record<string, unknown>;
  msg: string;
}

/** A LinkLogger that keeps every line (and prints them with GATEHOUSE_TEST_DEBUG). */
function recordingLog(): LinkLogger & { lines: LogLine[] } {
  const lines: LogLine[] = [];
  const at = (level: LogLine['level']) => (obj: object, message?: string) => {
    lines.push({ level, obj: obj as Record<string, unknown>, msg: message ?? '' });
    if (process.env.GATEHOUSE_TEST_DEBUG) process.stderr.write(`[link ${level}] ${message} ${JSON.stringify(obj)}\n`);
  };
  return { lines, info: at('info'), warn: at('warn'), error: at('error'), debug: at('debug') };
}

/** The broker with limits: receive maximum and maximum packet size in its CONNACK. */
let limited: CloudBroker;
/** The broker with logins and ACLs (dynamic security): the gateway may publish only under ok/ and subscribe only under cmd/allowed/. */
let guarded: CloudBroker;
before(async () => {
  limited = await startCloudBroker({ maxInflight: RECEIVE_MAXIMUM, maxPacketSize: MAX_PACKET });
  guarded = await startCloudBroker({ dynsec: true, maxQueued: 10_000 });
  await dynsec(guarded, 'createRole', 'gateway');
  await dynsec(guarded, 'addRoleACL', 'gateway', 'publishClientSend', 'ok/#', 'allow', '5');
  await dynsec(guarded, 'addRoleACL', 'gateway', 'subscribePattern', 'cmd/allowed/#', 'allow', '5');
  await dynsec(guarded, 'createRole', 'ops');
  await dynsec(guarded, 'addRoleACL', 'ops', 'publishClientSend', '#', 'allow', '5');
  await dynsec(guarded, 'addRoleACL', 'ops', 'subscribePattern', '#', 'allow', '5');
  for (const [user, role] of [[GATEWAY, 'gateway'], [OPS, 'ops']] as const) {
    await dynsec(guarded, 'createClient', user.username, '-p', user.password);
    await dynsec(guarded, 'addClientRole', user.username, role);
  }
});
after(async () => {
  await limited?.dispose();
  await guarded?.dispose();
});

interface LinkSetup {
  url: string;
  prefix: string;
  outbox: MemoryOutbox;
  birth?: LinkMessage[];
  inflight?: number;
  protocol?: '3.1.1' | '5';
  clientId?: string;
  login?: { username: string; password: string };
  subscriptions?: string[];
}

function startLink(t: TestContext, setup: LinkSetup): { link: CloudLink; log: ReturnType<typeof recordingLog> } {
  const log = recordingLog();
  const link = new CloudLink(
    {
      url: setup.url,
      protocol: setup.protocol ?? '5',
      userProperties: USER_PROPERTIES,
      clientId: setup.clientId ?? uniqueId('link'),
      ...(setup.login ? { username: setup.login.username, password: Buffer.from(setup.login.password) } : {}),
      keepaliveS: 5,
      connectTimeoutMs: 3000,
      will: { topic: `${setup.prefix}/availability`, payload: 'offline' },
      subscriptions: setup.subscriptions ?? [],
      inflight: setup.inflight ?? 20,
      backoff: { initialMs: 50, maxMs: 200 },
    },
    setup.outbox,
    { birth: () => setup.birth ?? [], onCommand: () => undefined },
    log,
  );
  t.after(() => link.stop(0));
  link.start();
  return { link, log };
}

async function watcher(t: TestContext, broker: CloudBroker, filters: string[], login?: { username: string; password: string }): Promise<CloudSubscriber> {
  const sub = await cloudSubscriber({ url: broker.url, filters, clientId: uniqueId('watch'), clean: true, protocol: 5, ...(login ?? {}) });
  t.after(() => sub.close());
  return sub;
}

function outbox(): MemoryOutbox {
  return new MemoryOutbox({ maxMessages: 10_000, maxBytes: 10_000_000 });
}

describe('connecting', () => {
  test('clean start, session expiry 0 and a receive maximum of uplink.inflight; never more unacknowledged than the broker allows', async (t) => {
    const prefix = uniqueId('window');
    const sub = await watcher(t, limited, [`${prefix}/#`]);
    // PUBACKs reach the link 20 ms late, so a link that ignored the broker's limit would fill its own window of 20.
    const tap = await wireTap(limited.port, { ackDelayMs: 20 });
    t.after(() => tap.close());
    const box = outbox();
    const COUNT = 60;
    box.append(Array.from({ length: COUNT }, (_, i) => msg(`${prefix}/ev`, String(i + 1))));
    const { link } = startLink(t, { url: tap.url, prefix, outbox: box, inflight: 20 });

    await sub.waitFor('the backlog', (ms) => ms.length >= COUNT, WAIT_MS);
    assert.deepEqual(tap.connects[0], { protocolLevel: 5, cleanStart: true, properties: { sessionExpiryInterval: 0, receiveMaximum: 20 } });
    assert.deepEqual(link.stats().brokerLimits, { receiveMaximum: RECEIVE_MAXIMUM, maximumPacketSize: MAX_PACKET });
    assert.equal(tap.maxOutstanding, RECEIVE_MAXIMUM, `at most the broker's receive maximum unacknowledged (saw ${tap.maxOutstanding}), and the window used`);
    assert.deepEqual(sub.messages.map((m) => m.text), Array.from({ length: COUNT }, (_, i) => String(i + 1)), 'in order, once each');
  });

  test('MQTT 3.1.1 stays the default: protocol level 4, clean session, no properties, our own window', async (t) => {
    const prefix = uniqueId('v311');
    const sub = await watcher(t, limited, [`${prefix}/#`]);
    const tap = await wireTap(limited.port, { ackDelayMs: 20 });
    t.after(() => tap.close());
    const box = outbox();
    box.append(Array.from({ length: 30 }, (_, i) => msg(`${prefix}/ev`, String(i + 1))));
    const { link } = startLink(t, { url: tap.url, prefix, outbox: box, inflight: 10, protocol: '3.1.1' });
    await sub.waitFor('the backlog', (ms) => ms.length >= 30, WAIT_MS);
    assert.deepEqual(tap.connects[0], { protocolLevel: 4, cleanStart: true, properties: {} });
    assert.equal(link.stats().brokerLimits, undefined);
    assert.equal(tap.maxOutstanding, 10, 'uplink.inflight, as before');
    assert.ok(sub.messages.every((m) => m.properties?.userProperties === undefined), 'no user properties under 3.1.1');
  });
});

test('user properties: gateway, session and class on every message, the will included', async (t) => {
  const prefix = uniqueId('props');
  const sub = await watcher(t, limited, [`${prefix}/#`]);
  const tap = await wireTap(limited.port);
  t.after(() => tap.close());
  const box = outbox();
  const classes: MessageClass[] = ['retained', 'result', 'security', 'telemetry'];
  box.append(classes.map((cls) => msg(`${prefix}/${cls}`, cls, cls)));
  const birth: LinkMessage[] = [{ topic: `${prefix}/birth`, payload: 'online', retain: true }];
  const { link } = startLink(t, { url: tap.url, prefix, outbox: box, birth });
  await sub.waitFor('birth and backlog', (ms) => ms.length >= 5, WAIT_MS);
  const expected: Record<string, string> = { birth: 'retained', retained: 'retained', result: 'result', security: 'security', telemetry: 'telemetry' };
  for (const m of sub.messages) {
    const leaf = m.topic.slice(prefix.length + 1);
    assert.deepEqual({ ...m.properties?.userProperties }, { ...USER_PROPERTIES, class: expected[leaf] }, `user properties of ${leaf}`);
  }

  // A dead link (no DISCONNECT): the broker publishes the will, with the same user properties.
  tap.cut();
  await sub.waitFor('the will', (ms) => ms.some((m) => m.topic === `${prefix}/availability`), WAIT_MS);
  const will = sub.on(`${prefix}/availability`)[0];
  assert.equal(will.text, 'offline');
  assert.deepEqual({ ...will.properties?.userProperties }, { ...USER_PROPERTIES, class: 'retained' });
  await until('the link back', () => link.stats().connections >= 2 && link.stats().state === 'up', WAIT_MS);
});

test('a response produced while the link is down goes out after the next birth, ahead of the backlog, with its correlation data', async (t) => {
  const prefix = uniqueId('later');
  // A persistent session: it outlives the broker's restart and gets what was published meanwhile.
  const sub = await cloudSubscriber({ url: limited.url, filters: [`${prefix}/#`], clientId: uniqueId('watch'), clean: false, protocol: 5 });
  t.after(() => sub.close());
  const box = outbox();
  const { link } = startLink(t, { url: limited.url, prefix, outbox: box, birth: [{ topic: `${prefix}/birth`, payload: 'online', retain: false }] });
  await until('the link up', () => link.stats().state === 'up', WAIT_MS);
  await limited.stop();
  t.after(() => limited.start());
  await until('the link down', () => link.stats().state !== 'up', WAIT_MS);
  box.append([msg(`${prefix}/backlog`, 'queued')]);
  link.respond({ topic: `${prefix}/reply`, payload: '{"id":"r-1"}', retain: false, class: 'result', correlationData: Buffer.from('corr-1') });
  await limited.start();
  await sub.waitFor('the response and the backlog', (ms) => ms.some((m) => m.topic === `${prefix}/backlog`), WAIT_MS);
  const afterRestart = sub.messages.map((m) => m.topic.slice(prefix.length + 1)).slice(-3);
  assert.deepEqual(afterRestart, ['birth', 'reply', 'backlog'], 'birth, then the response, then the backlog');
  const reply = sub.on(`${prefix}/reply`)[0];
  assert.equal(reply.text, '{"id":"r-1"}');
  assert.equal(Buffer.from(reply.properties!.correlationData!).toString(), 'corr-1');
  assert.deepEqual({ ...reply.properties?.userProperties }, { ...USER_PROPERTIES, class: 'result' });
});

test("a message larger than the broker's maximum packet size is dropped, logged and counted; the rest flow on the same connection", async (t) => {
  const prefix = uniqueId('big');
  const sub = await watcher(t, limited, [`${prefix}/#`]);
  const box = outbox();
  const props = { userProperties: { ...USER_PROPERTIES, class: 'telemetry' } };
  // Payload sizes that make the whole PUBLISH exactly the limit, and one byte more.
  const payloadFor = (topic: string, packetBytes: number) => {
    let n = packetBytes - publishPacketSize('5', topic, 0, props);
    while (publishPacketSize('5', topic, n, props) > packetBytes) n--;
    assert.equal(publishPacketSize('5', topic, n, props), packetBytes, 'a payload size that hits the packet size exactly');
    return 'x'.repeat(n);
  };
  box.append([
    msg(`${prefix}/first`, 'small'),
    msg(`${prefix}/exact`, payloadFor(`${prefix}/exact`, MAX_PACKET)),
    msg(`${prefix}/over`, payloadFor(`${prefix}/over`, MAX_PACKET + 1)),
    msg(`${prefix}/last`, 'small'),
  ]);
  const { link, log } = startLink(t, { url: limited.url, prefix, outbox: box });
  await sub.waitFor('the last message', (ms) => ms.some((m) => m.topic === `${prefix}/last`), WAIT_MS);
  await until('the outbox to empty', () => box.stats().depth === 0, WAIT_MS);

  assert.deepEqual(sub.messages.map((m) => m.topic.slice(prefix.length + 1)), ['first', 'exact', 'last'], 'the one at the limit went, the one above it did not');
  assert.equal(link.stats().tooLarge, 1);
  assert.equal(link.stats().connections, 1, 'the broker never had to close the connection (0x95)');
  assert.equal(link.stats().lastReason, undefined);
  const line = log.lines.find((l) => l.level === 'warn' && /maximum packet size/.test(l.msg));
  assert.ok(line, 'a warning was logged');
  assert.equal(line.obj.topic, `${prefix}/over`);
  assert.equal(line.obj.packet_bytes, MAX_PACKET + 1);
});

test('PUBACK 0x87 from the cloud ACL: logged, counted, kept as the last reason, deleted; the link carries on', async (t) => {
  const prefix = uniqueId('acl');
  const sub = await watcher(t, guarded, [`ok/${prefix}/#`, `denied/${prefix}/#`], OPS);
  const box = outbox();
  box.append([msg(`ok/${prefix}/1`, 'one'), msg(`denied/${prefix}/x`, 'refused', 'result'), msg(`ok/${prefix}/2`, 'two')]);
  const { link, log } = startLink(t, {
    url: guarded.url,
    prefix: `ok/${prefix}`,
    outbox: box,
    login: GATEWAY,
    subscriptions: [`cmd/allowed/${prefix}/+`, `cmd/denied/${prefix}/+`],
  });
  await sub.waitFor('both allowed messages', (ms) => ms.filter((m) => m.topic.startsWith(`ok/${prefix}/`)).length >= 2, WAIT_MS);
  await until('the outbox to empty', () => box.stats().depth === 0, WAIT_MS);

  const stats = link.stats();
  assert.equal(stats.state, 'up');
  assert.equal(stats.connections, 1, 'no reconnection for a refused message or subscription');
  assert.equal(stats.refused, 1);
  assert.equal(stats.sent, 2);
  assert.deepEqual({ ...stats.lastReason, at: 0 }, { packet: 'puback', code: 0x87, reason: 'Not authorized', topic: `denied/${prefix}/x`, at: 0 });
  assert.deepEqual(sub.on(`denied/${prefix}/x`), [], 'the broker did not deliver it');
  const refusal = log.lines.find((l) => l.level === 'warn' && l.obj.packet === 'puback');
  assert.ok(refusal, 'the refusal was logged');
  assert.equal(refusal.obj.code, '0x87');
  assert.equal(refusal.obj.topic, `denied/${prefix}/x`);
  const subscription = log.lines.find((l) => l.level === 'warn' && /refused command subscriptions/.test(l.msg));
  assert.ok(subscription, 'the refused subscription was logged');
  assert.deepEqual(subscription.obj.refused, [`cmd/denied/${prefix}/+ (0x87 Not authorized)`]);
});

test('MQTT 3.1.1: a subscription refused with SUBACK 0x80 is logged and the link stays up (no reconnect loop)', async (t) => {
  const prefix = uniqueId('acl311');
  const sub = await watcher(t, guarded, [`ok/${prefix}/#`], OPS);
  const box = outbox();
  box.append([msg(`ok/${prefix}/1`, 'one')]);
  const { link, log } = startLink(t, {
    url: guarded.url,
    prefix: `ok/${prefix}`,
    outbox: box,
    protocol: '3.1.1',
    login: GATEWAY,
    subscriptions: [`cmd/allowed/${prefix}/+`, `cmd/denied/${prefix}/+`],
  });
  await sub.waitFor('the message', (ms) => ms.length >= 1, WAIT_MS);
  await until('the link up', () => link.stats().state === 'up', WAIT_MS);
  assert.equal(link.stats().connections, 1);
  assert.equal(link.stats().lastReason?.packet, 'suback');
  assert.equal(link.stats().lastReason?.code, 0x80);
  assert.ok(log.lines.some((l) => l.level === 'warn' && /refused command subscriptions/.test(l.msg)));
});

test('a DISCONNECT reason code from the broker is logged and kept (0x98 administrative action); the link comes back', async (t) => {
  const prefix = uniqueId('kicked');
  const { link, log } = startLink(t, { url: guarded.url, prefix: `ok/${prefix}`, outbox: outbox(), login: GATEWAY });
  await until('the link up', () => link.stats().state === 'up', WAIT_MS);

  // Dynamic security kicks a client whose roles change, so that it reconnects under the new ones.
  const role = uniqueId('role');
  await dynsec(guarded, 'createRole', role);
  await dynsec(guarded, 'addClientRole', GATEWAY.username, role);
  t.after(() => dynsec(guarded, 'removeClientRole', GATEWAY.username, role));
  await until('the DISCONNECT recorded', () => link.stats().lastReason?.packet === 'disconnect', WAIT_MS);
  assert.equal(link.stats().lastReason?.code, 0x98);
  assert.equal(link.stats().lastReason?.reason, 'Administrative action');
  const line = log.lines.find((l) => l.level === 'warn' && l.obj.packet === 'disconnect');
  assert.equal(line?.obj.code, '0x98');
  await until('the link back', () => link.stats().connections >= 2 && link.stats().state === 'up', WAIT_MS);
  assert.equal(link.stats().lastReason?.packet, 'disconnect', 'kept after the reconnection');
});

test('a CONNACK refusal is kept with its reason code; the link retries with backoff', async (t) => {
  const prefix = uniqueId('refused');
  const { link, log } = startLink(t, { url: guarded.url, prefix, outbox: outbox(), login: { username: GATEWAY.username, password: 'wrong' } });
  await until('a refused login', () => link.stats().lastReason?.packet === 'connack', WAIT_MS);
  // Mosquitto's dynamic security answers a wrong password with 0x87 (0x86 would be as right).
  assert.equal(link.stats().lastReason?.code, 0x87);
  assert.equal(link.stats().lastReason?.reason, 'Not authorized');
  assert.match(link.stats().lastError ?? '', /Not authorized/);
  assert.equal(link.stats().connections, 0);
  assert.equal(link.stats().state, 'waiting');
  assert.ok(log.lines.some((l) => l.level === 'warn' && l.obj.packet === 'connack' && l.obj.code === '0x87'));
});
