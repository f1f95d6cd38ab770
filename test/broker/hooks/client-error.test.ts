import assert from 'node:assert/strict';
import { test } from 'node:test';
import { classifyClientError } from '../../../src/broker/hooks/client-error.js';
import { loginRefusedError, policyError } from '../../../src/broker/policy-error.js';

test('errors the broker made on purpose are policy, already logged where they were made', () => {
  assert.equal(classifyClientError(policyError('publish to "x" refused: acl')), 'policy');
  assert.equal(classifyClientError(loginRefusedError('bad_password', 4)), 'policy');
});

test('resets, broken pipes and timeouts are routine; anything else is unexpected', () => {
  assert.equal(classifyClientError(Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' })), 'routine');
  assert.equal(classifyClientError(new Error('keep alive timeout')), 'routine');
  assert.equal(classifyClientError(new Error('Invalid header flag bits')), 'unexpected');
  assert.equal(classifyClientError(Object.assign(new Error('x'), { code: 'EWHATEVER' })), 'unexpected');
});
