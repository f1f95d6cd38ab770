// What an unauthenticated peer can write to the log and the audit journal is bounded. One warning
// per malformed connection let any peer flood the log at the rate it can open connections, and the
// username, client id and topic of a security event were logged and journaled whole (up to 64 KiB
// each, MQTT-1.5.3).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { boundedText } from '../../src/broker/log-bounds.js';
import { PACKET, RawClient, connectPacket, startBroker, subscribePacket, waitFor } from './support.js';

const WARN = 40;
const DEBUG = 20;

test('a stream of malformed connections gives a few warnings, not one per connection; each is still logged at debug', async (t) => {
  const { broker, port, lines } = await startBroker(t);
  const CONNECTIONS = 40;
  // MQTT 3.1.1 section 2.2.3: a remaining length in more than four bytes. Sent before any CONNECT.
  const malformed = Buffer.from([0x10, 0xff, 0xff, 0xff, 0xff, 0x01]);
  for (let i = 0; i < CONNECTIONS; i++) {
    const client = await RawClient.open(t, port);
    client.send(malformed);
    assert.equal(await client.closesWithin(), true, 'the malformed connection is closed');
  }
  const violations = () => lines.filter((l) => l.msg === 'mqtt protocol violation; closing connection');
  await waitFor(`${CONNECTIONS} violations logged`, () => violations().length === CONNECTIONS);
  const warnings = violations().filter((l) => l.level === WARN).length;
  assert.ok(warnings <= 5, `${warnings} warning lines for ${CONNECTIONS} malformed connections`);
  assert.equal(violations().filter((l) => l.level === DEBUG).length, CONNECTIONS - warnings);
  // Other clients are unaffected.
  const other = await RawClient.connected(t, port, { clientId: 'bystander', username: 'operator', password: 'op-secret' });
  await other.ping();
  assert.equal(broker.connectedClients(), 1);
});

test('the username, client id and topic of a security event are bounded in the log and the journal', async (t) => {
  // A 60,000-character client id must reach the login to be logged: broker.limits.max_client_id_length raised to the MQTT maximum.
  const { port, events, lines } = await startBroker(t, { anonymous: { enabled: true, publish: [], subscribe: ['site/hq/#'] }, limits: { maxClientIdLength: 65_535 } });
  const huge = (c: string) => c.repeat(60_000);

  const refused = await RawClient.open(t, port);
  refused.send(connectPacket({ clientId: huge('c'), username: huge('u'), password: 'wrong' }));
  assert.equal((await refused.next(PACKET.CONNACK)).body[1], 4);

  const anonymous = await RawClient.connected(t, port, { clientId: 'anon' });
  anonymous.send(subscribePacket(1, [{ filter: `chat/${huge('t')}`, qos: 0 }]));
  assert.deepEqual([...(await anonymous.next(PACKET.SUBACK)).body.subarray(2)], [0x80]);

  const failed = await waitFor('the auth_failed event', () => events.find((e) => e.type === 'auth_failed'));
  const denied = await waitFor('the subscribe_denied event', () => events.find((e) => e.type === 'subscribe_denied'));
  assert.ok(failed.username !== undefined && failed.username.length <= 1024, `auth_failed username of ${failed.username?.length} characters`);
  assert.ok(failed.clientId.length <= 1024, `auth_failed client id of ${failed.clientId.length} characters`);
  assert.ok(failed.username.startsWith('uuuu') && failed.clientId.startsWith('cccc'), 'the start of each value is kept');
  assert.ok(denied.topic !== undefined && denied.topic.length <= 2048, `subscribe_denied topic of ${denied.topic?.length} characters`);
  assert.ok(denied.topic.startsWith('chat/ttt'));
  for (const msg of ['mqtt login refused', 'mqtt subscribe refused']) {
    const line = lines.find((l) => l.msg === msg);
    assert.ok(line, `${msg} is logged`);
    assert.ok(JSON.stringify(line).length <= 8192, `the "${msg}" log line has ${JSON.stringify(line).length} characters`);
  }
});

test('boundedText keeps short text, cuts long text without splitting a surrogate pair, and passes null and undefined through', () => {
  assert.equal(boundedText('short', 8), 'short');
  assert.equal(boundedText('abcdefghij', 4), 'abcd…(10 characters)');
  // U+1F600 is a surrogate pair: cutting after its first half would leave invalid UTF-16.
  assert.equal(boundedText('abc\u{1F600}xyz', 4), 'abc…(8 characters)');
  assert.equal(boundedText(undefined, 4), undefined);
  // aedes' client.id before its CONNECT is handled (found by test/broker/fuzz.test.ts).
  assert.equal(boundedText(null, 4), null);
});
