// The cloud link on its own, draining an in-memory outbox into a real mosquitto: the birth first,
// then the retained picture, then the backlog in order, with at most `inflight` PUBLISHes awaiting
// PUBACK; and it keeps going when the outbox fails for a moment.
import assert from 'node:assert/strict';
import { after, before, test, type TestContext } from 'node:test';
import { pino, type Logger } from 'pino';
import { CloudLink, type LinkMessage } from '../../src/uplink/cloud-link.js';
import { MemoryOutbox, type QueuedMessage } from '../../src/uplink/outbox.js';
import { startCloudBroker, type CloudBroker } from './cloud-broker.js';
import { cloudSubscriber, type CloudSubscriber } from './cloud-subscriber.js';
import { msg } from './outbox-conformance.js';
import { uniqueId, until } from './uplink-harness.js';

const WAIT_MS = 15_000;
const log = pino({ level: process.env.GATEHOUSE_TEST_DEBUG ? 'debug' : 'silent' });

/**
 * A MemoryOutbox that records how many PUBLISHes the link had awaiting PUBACK at most (those
 * already in flight when it takes more, plus what it takes), and can fail on demand.
 */
class ObservedOutbox extends MemoryOutbox {
  maxInFlight = 0;
  failTakes = 0;
  takeCalls = 0;
  link: CloudLink | undefined;

  override take(limit: number): QueuedMessage[] {
    this.takeCalls++;
    if (this.failTakes > 0) {
      this.failTakes--;
      throw Object.assign(new Error('disk I/O error'), { code: 'SQLITE_IOERR' });
    }
    const rows = super.take(limit);
    this.maxInFlight = Math.max(this.maxInFlight, (this.link?.stats().inFlight ?? 0) + rows.length);
    return rows;
  }
}

let cloud: CloudBroker;
before(async () => {
  cloud = await startCloudBroker();
});
after(() => cloud?.dispose());

async function watcher(t: TestContext, filter: string): Promise<CloudSubscriber> {
  const sub = await cloudSubscriber({ url: cloud.url, filters: [filter], clientId: uniqueId('watch'), clean: true });
  t.after(() => sub.close());
  return sub;
}

function startLink(t: TestContext, outbox: MemoryOutbox, prefix: string, birth: LinkMessage[], inflight: number, logger: Logger = log): CloudLink {
  const link = new CloudLink(
    {
      url: cloud.url,
      clientId: uniqueId('link'),
      keepaliveS: 5,
      connectTimeoutMs: 3000,
      will: { topic: `${prefix}/availability`, payload: 'offline' },
      subscriptions: [],
      inflight,
      backoff: { initialMs: 50, maxMs: 200 },
    },
    outbox,
    { birth: () => birth, onCommand: () => undefined },
    logger,
  );
  t.after(() => link.stop(0));
  link.start();
  return link;
}

test('birth first, then the pending retained values, then the backlog in order, never more than `inflight` unacknowledged', async (t) => {
  const prefix = uniqueId('order');
  const sub = await watcher(t, `${prefix}/#`);
  const outbox = new ObservedOutbox({ maxMessages: 10_000, maxBytes: 10_000_000 });
  const COUNT = 500;
  for (let i = 1; i <= COUNT; i++) {
    outbox.append([msg(`${prefix}/ev`, String(i))]);
    if (i % 50 === 0) outbox.append([msg(`${prefix}/state`, String(i / 50), 'retained')]);
  }
  const birth: LinkMessage[] = [
    { topic: `${prefix}/availability`, payload: 'online', retain: true },
    { topic: `${prefix}/gateway-state`, payload: '{"session":1}', retain: true },
  ];
  const INFLIGHT = 7;
  outbox.link = startLink(t, outbox, prefix, birth, INFLIGHT);
  await sub.waitFor('the whole backlog', (ms) => ms.filter((m) => m.topic.endsWith('/ev')).length >= COUNT, WAIT_MS);
  await until('the outbox to empty', () => outbox.stats().depth === 0, WAIT_MS);

  const order = sub.messages.map((m) => `${m.topic.slice(prefix.length + 1)}=${m.text}`);
  assert.deepEqual(order.slice(0, 3), ['availability=online', 'gateway-state={"session":1}', 'state=10'], 'birth, then the newest retained value');
  assert.deepEqual(order.slice(3), Array.from({ length: COUNT }, (_, i) => `ev=${i + 1}`), 'then the backlog in order, once each');
  assert.equal(sub.on(`${prefix}/state`).length, 1, 'superseded retained values were never sent');
  assert.ok(outbox.maxInFlight <= INFLIGHT, `at most ${INFLIGHT} in flight (saw ${outbox.maxInFlight})`);
  assert.equal(outbox.maxInFlight, INFLIGHT, 'the window was used');
});

test('a live retained value overtakes a long backlog', async (t) => {
  const prefix = uniqueId('live');
  const sub = await watcher(t, `${prefix}/#`);
  const outbox = new MemoryOutbox({ maxMessages: 100_000, maxBytes: 100_000_000 });
  const COUNT = 3000;
  outbox.append(Array.from({ length: COUNT }, (_, i) => msg(`${prefix}/ev`, String(i + 1))));
  const link = startLink(t, outbox, prefix, [], 2);
  await sub.waitFor('the drain under way', (ms) => ms.length >= 50, WAIT_MS);
  outbox.append([msg(`${prefix}/state`, 'live', 'retained')]);
  link.notify();
  await sub.waitFor('the whole backlog', (ms) => ms.filter((m) => m.topic.endsWith('/ev')).length >= COUNT, WAIT_MS);
  const at = sub.messages.findIndex((m) => m.topic === `${prefix}/state`);
  assert.ok(at > 0 && at < COUNT, `the live state arrived at position ${at}, before the backlog's end`);
});

test('an outbox read failure is logged and retried; the drain then completes', async (t) => {
  const prefix = uniqueId('retry');
  const sub = await watcher(t, `${prefix}/#`);
  const outbox = new ObservedOutbox({ maxMessages: 1000, maxBytes: 1_000_000 });
  outbox.append(Array.from({ length: 30 }, (_, i) => msg(`${prefix}/ev`, String(i + 1))));
  outbox.failTakes = 2;
  const records: { level: number; msg: string; err?: string }[] = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => void records.push(JSON.parse(line)) });
  const link = startLink(t, outbox, prefix, [], 5, logger);
  await sub.waitFor('every message', (ms) => ms.length >= 30, WAIT_MS);
  assert.ok(outbox.takeCalls > 2, 'read again after the failures');
  const logged = records.filter((r) => r.msg === 'outbox read failed; retrying');
  assert.equal(logged.length, 2, 'each failed read logged once');
  for (const r of logged) {
    assert.equal(r.level, 50, 'at error level');
    assert.match(r.err ?? '', /disk I\/O error/);
  }
  assert.equal(link.stats().state, 'up');
  assert.deepEqual(sub.messages.map((m) => m.text), Array.from({ length: 30 }, (_, i) => String(i + 1)));
});

test('with the broker unreachable the link keeps retrying with backoff and reports why', async (t) => {
  const outbox = new MemoryOutbox({ maxMessages: 10, maxBytes: 10_000 });
  const link = new CloudLink(
    {
      url: 'mqtt://127.0.0.1:1', // nothing listens on port 1 of loopback
      clientId: uniqueId('nowhere'),
      keepaliveS: 5,
      connectTimeoutMs: 1000,
      will: { topic: 'x/availability', payload: 'offline' },
      subscriptions: [],
      inflight: 5,
      backoff: { initialMs: 20, maxMs: 100 },
    },
    outbox,
    { birth: () => [], onCommand: () => undefined },
    log,
  );
  t.after(() => link.stop(0));
  link.start();
  await until('a few failed attempts', () => link.stats().lastError?.includes('ECONNREFUSED') && link.stats().state === 'waiting', WAIT_MS);
  assert.equal(link.stats().connections, 0);
  const stopped = await link.stop(1000);
  assert.equal(stopped.drained, true, 'an empty outbox counts as drained');
  assert.equal(link.stats().state, 'stopped');
});
