// $SYS and other '$' topics: no client publishes there, whatever its ACL; reading $SYS needs an
// ACL rule that names it, because a filter starting with a wildcard never matches a '$' topic
// (MQTT-4.7.2-1), neither in the ACL nor in delivery.
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { hashPassword } from '../../src/broker/password.js';
import { requireTool } from '../support/require-tool.js';
import { PACKET, RawClient, mqttClient, publishPacket, runTool, startBroker, subscribePacket, testUsers, waitFor, type BrokerUnderTest } from './support.js';

const SPY = { username: 'spy', password: 'spy-secret' }; // publish ['#'], subscribe ['#']
const MONITOR = { username: 'monitor', password: 'monitor-secret' };

/** The test users plus `monitor`, whose ACL grants $SYS/# explicitly (and publishing to it, which still fails). */
async function startWithMonitor(t: TestContext): Promise<BrokerUnderTest> {
  const monitor = { username: MONITOR.username, password_hash: await hashPassword(MONITOR.password), publish: ['$SYS/#', 'chat/#'], subscribe: ['$SYS/#', 'chat/#'] };
  return startBroker(t, { users: [...(await testUsers()), monitor] });
}

test('no client may publish to $SYS or any $ topic, even with a # or an explicit $SYS/# publish rule', async (t) => {
  const { port, events } = await startWithMonitor(t);
  const attempts = [
    { who: SPY, topic: '$SYS/broker/uptime' },
    { who: SPY, topic: '$share/group/x' },
    { who: MONITOR, topic: '$SYS/fake/heartbeat' },
  ];
  for (const { who, topic } of attempts) {
    const c = await RawClient.connected(t, port, who);
    c.send(publishPacket({ topic, qos: 1, messageId: 1, payload: 'spoof' }));
    assert.ok(await c.closesWithin(), `${who.username} -> ${topic}`);
  }
  // mosquitto_pub as well: it publishes QoS 0 and exits; the refusal shows in the journal.
  const pub = await runTool(requireTool('mosquitto_pub', 'mosquitto-clients'), ['-h', '127.0.0.1', '-p', String(port), '-V', 'mqttv311', '-u', MONITOR.username, '-P', MONITOR.password, '-t', '$SYS/by-tool', '-m', 'x']);
  assert.equal(pub.code, 0, pub.stderr);
  await waitFor('four publish_denied events', () => events.length === 4);
  assert.deepEqual(
    events.map((e) => [e.type, e.reason, e.username, e.topic]),
    [
      ['publish_denied', 'system_topic', 'spy', '$SYS/broker/uptime'],
      ['publish_denied', 'system_topic', 'spy', '$share/group/x'],
      ['publish_denied', 'system_topic', 'monitor', '$SYS/fake/heartbeat'],
      ['publish_denied', 'system_topic', 'monitor', '$SYS/by-tool'],
    ],
  );
});

test('a # subscribe rule does not grant $SYS/#: SUBACK 0x80; a # subscription receives no $SYS message', async (t) => {
  const { port, events } = await startWithMonitor(t);
  const spy = await RawClient.connected(t, port, { ...SPY, clientId: 'spy-1' });
  spy.send(subscribePacket(1, [{ filter: '$SYS/#', qos: 0 }, { filter: '$SYS/+/new/clients', qos: 0 }, { filter: '#', qos: 0 }, { filter: '+/#', qos: 0 }]));
  assert.deepEqual([...(await spy.next(PACKET.SUBACK)).body.subarray(2)], [0x80, 0x80, 0, 0]);
  assert.deepEqual(events.map((e) => [e.type, e.reason, e.topic]), [
    ['subscribe_denied', 'acl', '$SYS/#'],
    ['subscribe_denied', 'acl', '$SYS/+/new/clients'],
  ]);

  // aedes announces each new client on $SYS/{broker id}/new/clients; a monitor sees it, the spy does not.
  const monitor = await mqttClient(t, port, { ...MONITOR, clientId: 'monitor-1' });
  const sys: string[] = [];
  monitor.on('message', (topic) => sys.push(topic));
  await monitor.subscribeAsync('$SYS/#', { qos: 0 });
  await mqttClient(t, port, { ...SPY, clientId: 'newcomer' });
  await waitFor('the monitor to see $SYS/.../new/clients', () => sys.some((topic) => /^\$SYS\/[^/]+\/new\/clients$/.test(topic)));
  // A marker on an ordinary topic, published after the $SYS message: once it arrives, anything
  // of $SYS would have arrived before it.
  await monitor.publishAsync('chat/marker', 'm', { qos: 1 });
  await waitFor('the marker at the spy', () => spy.frames.filter((f) => f.type === PACKET.PUBLISH).length >= 1);
  await spy.ping();
  const topics = spy.frames.filter((f) => f.type === PACKET.PUBLISH).map((f) => f.body.subarray(2, 2 + f.body.readUInt16BE(0)).toString());
  assert.ok(topics.includes('chat/marker'));
  assert.deepEqual(topics.filter((topic) => topic.startsWith('$')), []);
});

test('a subscribe-only site user cannot reach $SYS, #, or another site', async (t) => {
  const { port } = await startWithMonitor(t);
  const viewer = await RawClient.connected(t, port, { username: 'viewer', password: 'view-secret' });
  viewer.send(subscribePacket(1, [{ filter: '$SYS/#', qos: 0 }, { filter: '#', qos: 0 }, { filter: 'site/other/#', qos: 0 }, { filter: 'site/+/#', qos: 0 }, { filter: 'site/hq/#', qos: 0 }]));
  assert.deepEqual([...(await viewer.next(PACKET.SUBACK)).body.subarray(2)], [0x80, 0x80, 0x80, 0x80, 0]);
});
