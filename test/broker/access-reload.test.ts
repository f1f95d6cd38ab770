import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decideAccessUpdate } from '../../src/broker/access-reload.js';
import { OPERATOR_RULES, freshSession, loggedIn } from './hooks/sessions.js';

const was = { rules: OPERATOR_RULES, passwordHash: 'scrypt$old' };

test('a connection not logged in yet is left to the new users at its CONNECT', () => {
  assert.deepEqual(decideAccessUpdate('c1', freshSession(), was, undefined), { action: 'skip' });
  assert.deepEqual(decideAccessUpdate('c1', undefined, was, undefined), { action: 'skip' });
});

test('a removed user or a new password hash disconnects; a certificate login ignores the password', () => {
  assert.deepEqual(decideAccessUpdate('c1', loggedIn(), was, undefined), { action: 'disconnect', reason: 'access_removed' });
  assert.deepEqual(decideAccessUpdate('c1', loggedIn(), was, { ...was, passwordHash: 'scrypt$new' }), { action: 'disconnect', reason: 'password_changed' });
  const byCertificate = loggedIn('operator', undefined, { certificate: { identity: 'operator', subject: 'CN=operator', fingerprint: 'AB' } });
  assert.deepEqual(decideAccessUpdate('c1', byCertificate, was, { ...was, passwordHash: 'scrypt$new' }), { action: 'keep' });
});

test('new rules give a new access list and revoke the granted filters it no longer covers', () => {
  const session = loggedIn('operator', undefined, { granted: new Map([['chat/#', 1], ['site/hq/#', 0]]) });
  const decision = decideAccessUpdate('c1', session, was, { rules: { publish: [], subscribe: ['site/hq/#'] }, passwordHash: 'scrypt$old' });
  assert.equal(decision.action, 'update');
  if (decision.action !== 'update') return;
  assert.deepEqual(decision.revoked, ['chat/#']);
  assert.equal(decision.acl.canPublish('chat/x'), false);
  // Deciding changes nothing: the reload applies it.
  assert.equal(session.granted.size, 2);
});
