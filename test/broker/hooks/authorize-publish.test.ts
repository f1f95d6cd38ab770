import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decideAuthorizePublish, type PublishHookPolicy } from '../../../src/broker/hooks/authorize-publish.js';
import { SITE, classify, freshSession, loggedIn } from './sessions.js';

const client = { id: 'c1', closed: false };
const UNLOCK = `site/${SITE}/gate/g1/unlock`;

function policy(awaiting: number[] = []): PublishHookPolicy {
  return { classify, maxTopicLength: 1024, awaitingPubrel: (id) => awaiting.includes(id) };
}

function packet(topic: string, extra: Partial<{ payload: Buffer; qos: 0 | 1 | 2; retain: boolean; dup: boolean; messageId: number }> = {}) {
  return { topic, payload: Buffer.from('{}'), qos: 1 as const, retain: false, dup: false, messageId: 7, ...extra };
}

test('a PUBLISH without a logged-in client is refused', () => {
  assert.equal(decideAuthorizePublish(null, loggedIn(), packet('chat/x'), policy()).action, 'refuse');
  assert.equal(decideAuthorizePublish(client, undefined, packet('chat/x'), policy()).action, 'refuse');
  assert.equal(decideAuthorizePublish(client, freshSession(), packet('chat/x'), policy()).action, 'refuse');
});

test('ordinary traffic the ACL allows is routed', () => {
  assert.deepEqual(decideAuthorizePublish(client, loggedIn(), packet('chat/x'), policy()), { action: 'allow' });
});

test('a refused PUBLISH is reported with who, where and why; a refused will says so', () => {
  const session = loggedIn('viewer', { publish: [], subscribe: ['#'] });
  const decision = decideAuthorizePublish(client, session, packet('chat/x'), policy());
  assert.deepEqual(decision, {
    action: 'deny',
    event: { type: 'publish_denied', clientId: 'c1', username: 'viewer', peer: '192.0.2.7:50123', protocol: 'mqtt+tcp', topic: 'chat/x', reason: 'acl' },
    message: 'mqtt publish refused; closing connection',
    error: 'publish to "chat/x" refused: acl',
  });
  const will = decideAuthorizePublish({ id: 'c1', closed: true }, session, packet('chat/x'), policy());
  assert.equal(will.action === 'deny' && will.message, 'mqtt will refused');
});

test('reserved topics and $ topics are refused whatever the ACL says', () => {
  const spy = loggedIn('spy', { publish: ['#'], subscribe: ['#'] });
  const reserved = decideAuthorizePublish(client, spy, packet(`site/${SITE}/gate/g1/state`), policy());
  assert.equal(reserved.action === 'deny' && reserved.event.reason, 'reserved_topic');
  const system = decideAuthorizePublish(client, loggedIn('spy', { publish: ['$SYS/#'], subscribe: [] }), packet('$SYS/x'), policy());
  assert.equal(system.action === 'deny' && system.event.reason, 'system_topic');
});

test('a command becomes an IncomingCommand with a copy of the payload and the publisher', () => {
  const payload = Buffer.from('{"duration_ms":500}');
  const decision = decideAuthorizePublish(client, loggedIn(), packet(UNLOCK, { payload, retain: true, dup: true }), policy());
  assert.equal(decision.action, 'command');
  if (decision.action !== 'command') return;
  assert.deepEqual(decision.command, {
    topic: UNLOCK,
    kind: 'gate',
    device: 'g1',
    command: 'unlock',
    payload,
    qos: 1,
    retain: true,
    dup: true,
    messageId: 7,
    clientId: 'c1',
    username: 'operator',
    peer: '192.0.2.7:50123',
    authorized: true,
  });
  assert.notEqual(decision.command.payload, payload);
});

test('a command the ACL forbids still goes to the pipeline, marked unauthorized; QoS 0 has no message id', () => {
  const viewer = loggedIn('viewer', { publish: [], subscribe: ['#'] });
  const decision = decideAuthorizePublish(client, viewer, packet(UNLOCK, { qos: 0, payload: undefined as unknown as Buffer }), policy());
  assert.equal(decision.action, 'command');
  if (decision.action !== 'command') return;
  assert.equal(decision.command.authorized, false);
  assert.equal(decision.command.messageId, undefined);
  assert.deepEqual(decision.command.payload, Buffer.alloc(0));
});

test('a QoS 2 command already awaiting PUBREL, or seen in this parse batch, is not run again (MQTT-4.3.3-2)', () => {
  assert.deepEqual(decideAuthorizePublish(client, loggedIn(), packet(UNLOCK, { qos: 2 }), policy([7])), { action: 'retransmission' });
  const batch = loggedIn('operator', undefined, { recentQos2: new Set([7]) });
  assert.deepEqual(decideAuthorizePublish(client, batch, packet(UNLOCK, { qos: 2 }), policy()), { action: 'retransmission' });
  // QoS 1 has no such rule: a resend is the pipeline's duplicate to answer.
  assert.equal(decideAuthorizePublish(client, batch, packet(UNLOCK, { qos: 1 }), policy([7])).action, 'command');
  assert.equal(decideAuthorizePublish(client, loggedIn(), packet(UNLOCK, { qos: 2, messageId: 8 }), policy([7])).action, 'command');
});
