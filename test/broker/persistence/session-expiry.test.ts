// broker.limits.session_expiry_s: a persistent session whose client stays away longer is removed
// with its subscriptions and queued messages, journaled as session_expired and counted; one whose
// client is connected, or came back in time, is kept; time spent stopped counts (checked at start).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { NO_DURABLE_STATE } from '../../../src/broker/persistence/durable-state.js';
import { GatehousePersistence } from '../../../src/broker/persistence/gatehouse-persistence.js';
import { SessionExpiry } from '../../../src/broker/persistence/session-expiry.js';
import { mqttClient, SITE, waitFor } from '../support.js';
import { connectPersistent, startSqliteBroker, stopSqliteBroker, tempDataDir } from './support.js';

const VIEWER = { username: 'viewer', password: 'view-secret' };
const EVENTS = `site/${SITE}/gate/g1/event`;

test('a sweep removes the sessions left longer ago than the limit, except connected ones, and reports each', async () => {
  let now = 1_000_000;
  const persistence = new GatehousePersistence({ state: NO_DURABLE_STATE, now: () => now });
  await persistence.setup({ id: 'b' });
  for (const id of ['old', 'recent', 'connected', 'attached-elsewhere']) {
    await persistence.addSubscriptions({ id, clean: false }, [{ topic: 'a/#', qos: 1 }]);
    persistence.sessionAttached(id, `user-${id}`);
  }
  await persistence.outgoingEnqueueCombi([{ clientId: 'old' }, { clientId: 'old' }], { cmd: 'publish', topic: 'a/b', payload: Buffer.from('x'), qos: 1, brokerId: 'b', brokerCounter: 1 });
  persistence.sessionDetached('old');
  persistence.sessionDetached('attached-elsewhere');
  now += 50_000;
  persistence.sessionDetached('recent');
  now += 20_000;
  const reported: string[] = [];
  const expiry = new SessionExpiry({
    persistence,
    maxAgeMs: 60_000,
    isAttached: (id) => id === 'attached-elsewhere',
    report: (e) => void reported.push(`${e.clientId} ${e.username} ${e.queued}`),
    onError: (err) => assert.fail(String(err)),
    now: () => now,
  });
  assert.deepEqual((await expiry.sweep()).map((e) => e.clientId), ['old']);
  assert.deepEqual(reported, ['old user-old 2']);
  assert.equal(expiry.expired, 1);
  assert.deepEqual(await persistence.subscriptionsByClient({ id: 'old' }), []);
  assert.equal(persistence.queuedFor('old'), 0);
  assert.equal(persistence.sessionCount, 3);
  assert.deepEqual(await expiry.sweep(), [], 'nothing more is due');
});

test('0 turns expiry off', async () => {
  const persistence = new GatehousePersistence({ state: NO_DURABLE_STATE });
  await persistence.setup({ id: 'b' });
  const expiry = new SessionExpiry({ persistence, maxAgeMs: 0, isAttached: () => false, report: () => assert.fail('reported'), onError: () => assert.fail('error') });
  await expiry.start();
  await expiry.stop();
  assert.equal(expiry.expired, 0);
});

test('in the broker: an away session expires, journaled and counted; it has no session present when it comes back, and a connected one stays', async (t) => {
  const started = await startSqliteBroker(t, tempDataDir(t), { limits: { sessionExpirySeconds: 1 } });
  const { broker, port, events } = started;
  const away = await mqttClient(t, port, { ...VIEWER, clientId: 'tablet', clean: false });
  await away.subscribeAsync(EVENTS, { qos: 1 });
  await away.endAsync();
  const present = await mqttClient(t, port, { ...VIEWER, clientId: 'desk', clean: false });
  await present.subscribeAsync(EVENTS, { qos: 1 });
  await broker.publish(EVENTS, '{"n":1}', { qos: 1, retain: false });

  await waitFor('the away session to expire', () => broker.sessionsExpired() === 1);
  const expired = events.filter((e) => e.type === 'session_expired');
  assert.deepEqual(expired.map((e) => [e.clientId, e.username]), [['tablet', 'viewer']]);
  assert.match(expired[0].reason, /over broker\.limits\.session_expiry_s 1 s .*; 1 stored messages removed/);
  assert.equal(broker.securityCounters().currentQueuedMessages, 0);

  const back = await connectPersistent(t, port, { ...VIEWER, clientId: 'tablet' });
  assert.equal(back.sessionPresent, false, 'session present 0: it is a new session');
  assert.ok(present.connected);
  assert.equal(events.filter((e) => e.type === 'session_expired' && e.clientId === 'desk').length, 0, 'the connected session is kept');
  await stopSqliteBroker(started);
});

test('in the broker: time spent stopped counts, a session due is removed at start before anyone can connect', async (t) => {
  const dir = tempDataDir(t);
  const first = await startSqliteBroker(t, dir, { limits: { sessionExpirySeconds: 0 } });
  const away = await mqttClient(t, first.port, { ...VIEWER, clientId: 'tablet', clean: false });
  await away.subscribeAsync(EVENTS, { qos: 1 });
  await away.endAsync();
  await first.broker.publish(EVENTS, '{"n":1}', { qos: 1, retain: false });
  await stopSqliteBroker(first);
  await new Promise((resolve) => setTimeout(resolve, 1100));
  const second = await startSqliteBroker(t, dir, { limits: { sessionExpirySeconds: 1 } });
  assert.equal(second.broker.sessionsExpired(), 1, 'removed during start');
  assert.deepEqual(second.events.map((e) => [e.type, e.clientId]), [['session_expired', 'tablet']]);
  assert.equal(second.broker.securityCounters().currentQueuedMessages, 0);
});
