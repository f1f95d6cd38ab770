// Why a client was refused, in words: a topic of another site (a typo), a user's ACL, the anonymous
// access, a reserved topic, a wrong password.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { refusalHint } from '../../src/cli/refusal-hint.js';

test('a publish or subscription refused by the ACL under another site names both sites', () => {
  assert.equal(refusalHint({ type: 'publish_denied', topic: 'site/dmeo/gate/main-gate/unlock', reason: 'acl', username: 'guard' }, 'demo'), 'the topic names site "dmeo"; this gateway serves site "demo"');
  assert.equal(refusalHint({ type: 'subscribe_denied', topic: 'site/dmeo/#', reason: 'acl' }, 'demo'), 'the topic names site "dmeo"; this gateway serves site "demo"');
});

test('refused by the ACL on this site (or with a wildcard site): which list of the config decides', () => {
  assert.equal(refusalHint({ type: 'publish_denied', topic: 'site/demo/gate/main-gate/unlock', reason: 'acl', username: 'display' }, 'demo'), 'user display may not publish to it (that user\'s publish list in the config)');
  assert.equal(refusalHint({ type: 'subscribe_denied', topic: 'site/+/#', reason: 'acl' }, 'demo'), 'anonymous clients may not subscribe to it (broker.anonymous.subscribe in the config)');
  assert.equal(refusalHint({ type: 'publish_denied', topic: 'lobby/screen', reason: 'acl' }, 'demo'), 'anonymous clients may not publish to it (broker.anonymous.publish in the config)');
});

test('other reasons in words; a reason that says it all gets no hint', () => {
  assert.match(refusalHint({ type: 'publish_denied', topic: 'site/demo/gate/main-gate/state', reason: 'reserved_topic' }, 'demo')!, /published by gatehouse only/);
  assert.equal(refusalHint({ type: 'auth_failed', reason: 'bad_password', username: 'guard' }, 'demo'), 'wrong password');
  assert.match(refusalHint({ type: 'auth_failed', reason: 'anonymous_disabled' }, 'demo')!, /broker\.anonymous\.enabled is false/);
  assert.match(refusalHint({ type: 'auth_failed', reason: 'tls_handshake: unknown ca' }, 'demo')!, /TLS handshake failed/);
  assert.equal(refusalHint({ type: 'lockout', reason: 'username guard locked for 900 s after 10 failed logins within 600 s' }, 'demo'), undefined);
});
