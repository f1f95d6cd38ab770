// Authentication and authorisation end to end: the ACL decides who may command, reserved topics
// cannot be spoofed, subscriptions beyond a user's ACL fail, bad logins are refused.
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { clientAs, commandTopic, parseJson, resultFor, sendCommand, startGateway, startSession, topicOf, uniqueId, watch, writesOf } from '../support/gateway.js';
import { mosquittoPub, mosquittoSub } from '../support/mosquitto.js';
import { connectClient, type MqttClient } from '../support/mqtt-client.js';
import { GATE_A, USERS, siteDevice } from '../support/site.js';
import { until, within } from '../support/wait.js';

const device = siteDevice();

/** Ends an absence check on `observer`: a message of another client on a plain topic, delivered after anything before it. */
async function sentinelThrough(t: TestContext, port: number, observer: MqttClient): Promise<void> {
  const topic = `site/hq/app/sentinel-${uniqueId('s')}`;
  const arrivals = await watch(observer, topic);
  const sender = await clientAs(t, port, 'guard');
  await sender.publishAsync(topic, 'sentinel', { qos: 1 });
  await arrivals.waitFor(() => true);
}

test('viewer publishing unlock gets forbidden, nothing is written, and the viewer stays connected', async (t) => {
  const { gw, client: viewer, results } = await startSession(t, device, GATE_A, { as: 'viewer' });
  let closed = false;
  viewer.on('close', () => (closed = true));
  const mark = device.writes.length;

  const id = uniqueId('not-allowed');
  await sendCommand(viewer, GATE_A, 'unlock', { id, duration_ms: 200 });
  const result = await resultFor(results, id);
  assert.equal(result.status, 'error');
  assert.equal(result.code, 'forbidden');
  assert.match(result.message, /viewer/);

  // mosquitto_pub as viewer: acknowledged (exit 0), answered with forbidden.
  const viaTool = uniqueId('not-allowed-tool');
  const pub = await mosquittoPub({ port: gw.port, ...USERS.viewer, topic: commandTopic(GATE_A, 'unlock'), message: JSON.stringify({ id: viaTool }), qos: 1 });
  assert.equal(pub.code, 0, pub.stderr);
  assert.equal((await resultFor(results, viaTool)).code, 'forbidden');

  // A guard's sentinel lock ends the absence check: it is the only write.
  const guard = await clientAs(t, gw.port, 'guard');
  const guardResults = await watch(guard, topicOf(GATE_A, 'result'));
  const sentinel = uniqueId('sentinel');
  await sendCommand(guard, GATE_A, 'lock', { id: sentinel });
  assert.equal((await resultFor(guardResults, sentinel)).status, 'ok');
  assert.deepEqual(writesOf(device, GATE_A.unit, mark).map((w) => w.values[0]), [false], 'a forbidden command never reaches the device; only the sentinel lock');
  assert.equal(closed, false);
  assert.equal(viewer.connected, true);
  // Still a working session: a new subscription is granted and retained state arrives.
  const states = await watch(viewer, topicOf(GATE_A, 'state'));
  assert.equal(parseJson(await states.waitFor(() => true)).lock, 'locked');
});

test('a client publishing to a reserved state topic is disconnected and the retained state is unchanged', async (t) => {
  const gw = await startGateway(t, device);
  const observer = await clientAs(t, gw.port, 'viewer');
  const states = await watch(observer, topicOf(GATE_A, 'state'));
  const before = parseJson(await states.waitFor(() => true));
  assert.equal(before.lock, 'locked');

  // guard's ACL covers site/hq/#, yet state topics belong to the gateway alone.
  const spoofer = await clientAs(t, gw.port, 'guard');
  const closed = new Promise<void>((resolve) => spoofer.once('close', () => resolve()));
  spoofer.publish(topicOf(GATE_A, 'state'), JSON.stringify({ lock: 'unlocked', door: 'open' }), { qos: 1, retain: true });
  await within(closed, 'the spoofing client to be disconnected');

  await sentinelThrough(t, gw.port, observer);
  assert.equal(states.messages.length, 1, 'subscribers saw nothing of the spoof');
  const late = await clientAs(t, gw.port, 'viewer');
  const retained = await (await watch(late, topicOf(GATE_A, 'state'))).waitFor(() => true);
  assert.deepEqual(parseJson(retained), before, 'the retained state is the gateway\'s own');

  // The same with mosquitto_pub: a retained result spoof does not reach subscribers either.
  const results = await watch(observer, topicOf(GATE_A, 'result'));
  const pub = await mosquittoPub({ port: gw.port, ...USERS.guard, topic: topicOf(GATE_A, 'result'), message: '{"id":"fake","status":"ok"}', qos: 1, retain: true });
  assert.notEqual(pub.code, 0, 'mosquitto_pub sees its connection closed instead of a PUBACK');
  await sentinelThrough(t, gw.port, observer);
  assert.equal(results.messages.length, 0);
});

test('viewer subscribing beyond its ACL gets a SUBACK failure (0x80)', async (t) => {
  const gw = await startGateway(t, device);
  const viewer = await clientAs(t, gw.port, 'viewer');
  // MQTT.js rejects a SUBACK holding a failure code and hands over the packet (MQTT 3.1.1 section 3.9.3).
  const refusal = await viewer.subscribeAsync(['#', 'other/topic', `site/hq/gate/+/state`], { qos: 1 }).then(
    () => assert.fail('the SUBACK should hold failures'),
    (err: { packet?: { granted?: number[] } }) => err,
  );
  assert.deepEqual(refusal.packet?.granted, [128, 128, 1]);
  assert.equal(viewer.connected, true);

  const sub = await mosquittoSub({ port: gw.port, ...USERS.viewer, topics: ['$SYS/#', 'site/other/#', 'site/hq/#'] });
  t.after(() => sub.stop());
  assert.deepEqual(sub.granted, [128, 128, 2]);
});

test('a wrong password is refused by MQTT.js and mosquitto clients alike', async (t) => {
  const gw = await startGateway(t, device);
  await assert.rejects(
    connectClient({ port: gw.port, username: USERS.guard.username, password: 'not-the-password' }),
    /Bad username or password|Not authorized/i,
  );
  await assert.rejects(connectClient({ port: gw.port }), /Not authorized/i, 'anonymous access is off');
  const pub = await mosquittoPub({ port: gw.port, username: 'guard', password: 'nope-nope', topic: commandTopic(GATE_A, 'unlock'), message: '{}', qos: 1 });
  assert.notEqual(pub.code, 0);
  assert.match(pub.stderr, /user ?name or password|not authori[sz]ed/i);
  const sub = await mosquittoSub({ port: gw.port, username: 'nobody', password: 'whatever1', topics: ['site/hq/#'] });
  t.after(() => sub.stop());
  await until('mosquitto_sub to exit', () => sub.exitCode !== null);
  assert.notEqual(sub.exitCode, 0);
});
