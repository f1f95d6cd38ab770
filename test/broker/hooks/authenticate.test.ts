import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CONNACK_BAD_CREDENTIALS, CONNACK_NOT_AUTHORIZED, type AuthResult } from '../../../src/broker/auth.js';
import { authFailedEvent, decideLogin } from '../../../src/broker/hooks/authenticate.js';
import { OPERATOR_RULES, SITE, classify, freshSession } from './sessions.js';

const policy = { classify, maxTopicLength: 1024 };
const operator: AuthResult = { ok: true, username: 'operator', rules: OPERATOR_RULES };

test('credentials that failed refuse the login with their CONNACK code and reason', () => {
  const failed: AuthResult = { ok: false, returnCode: CONNACK_BAD_CREDENTIALS, reason: 'bad_password' };
  assert.deepEqual(decideLogin(freshSession(), 'c1', failed, policy), { action: 'refuse', returnCode: 4, reason: 'bad_password' });
});

test('good credentials without a will log in with the access list of the user', () => {
  const decision = decideLogin(freshSession(), 'c1', operator, policy);
  assert.equal(decision.action, 'accept');
  if (decision.action !== 'accept') return;
  assert.equal(decision.username, 'operator');
  assert.equal(decision.acl.canPublish('chat/x'), true);
  assert.equal(decision.acl.canPublish('other/x'), false);
});

test('a will the client could not publish itself is refused with code 5 (will_denied)', () => {
  for (const willTopic of ['other/x', `site/${SITE}/gate/g1/state`, '$SYS/x']) {
    assert.deepEqual(decideLogin(freshSession({ willTopic }), 'c1', operator, policy), {
      action: 'refuse',
      returnCode: CONNACK_NOT_AUTHORIZED,
      reason: 'will_denied',
    }, willTopic);
  }
});

test('a will over broker.limits.max_topic_length is refused (will_denied)', () => {
  const decision = decideLogin(freshSession({ willTopic: `chat/${'x'.repeat(40)}` }), 'c1', operator, { classify, maxTopicLength: 32 });
  assert.deepEqual(decision, { action: 'refuse', returnCode: CONNACK_NOT_AUTHORIZED, reason: 'will_denied' });
});

test('a will on a command topic is refused even when the ACL allows the command (will_on_command_topic)', () => {
  const decision = decideLogin(freshSession({ willTopic: `site/${SITE}/gate/g1/unlock` }), 'c1', operator, policy);
  assert.deepEqual(decision, { action: 'refuse', returnCode: CONNACK_NOT_AUTHORIZED, reason: 'will_on_command_topic' });
});

test('an allowed will on ordinary traffic logs in', () => {
  assert.equal(decideLogin(freshSession({ willTopic: 'chat/bye' }), 'c1', operator, policy).action, 'accept');
});

test('the event of a refused login names the user by the certificate when no username was sent', () => {
  const session = freshSession({ certificate: { identity: 'panel-1', subject: 'CN=panel-1', fingerprint: 'AB:CD' }, protocol: 'mqtt+tls' });
  assert.deepEqual(authFailedEvent('c1', undefined, session, 'unknown_certificate_user'), {
    type: 'auth_failed',
    clientId: 'c1',
    username: 'panel-1',
    peer: '192.0.2.7:50123',
    protocol: 'mqtt+tls',
    reason: 'unknown_certificate_user',
  });
  assert.equal(authFailedEvent('c1', 'sent-name', session, 'certificate_mismatch').username, 'sent-name');
  const unknown = authFailedEvent('c1', 'x', undefined, 'unknown_connection');
  assert.equal(unknown.peer, 'unknown');
  assert.equal(unknown.protocol, undefined);
});
