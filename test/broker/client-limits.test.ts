import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CONTRACT_MINIMUMS } from '../../src/broker/client-limits.js';
import { topics } from '../../src/topics.js';

test('the contract minimums of broker.limits fit the longest topic the contract builds', () => {
  const id = 'x'.repeat(64);
  const longest = topics.command(id, id, id, id);
  assert.equal(Buffer.byteLength(longest, 'utf8'), CONTRACT_MINIMUMS.maxTopicLength);
  assert.equal(longest.split('/').length, CONTRACT_MINIMUMS.maxTopicLevels);
});
