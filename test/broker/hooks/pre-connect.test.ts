import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decidePreConnect } from '../../../src/broker/hooks/pre-connect.js';
import { freshSession } from './sessions.js';

test('a CONNECT on a connection no gatehouse listener accepted is refused', () => {
  const decision = decidePreConnect(undefined, {});
  assert.equal(decision.action, 'refuse');
  assert.match(decision.action === 'refuse' ? decision.reason : '', /not accepted by a gatehouse listener/);
});

test('a CONNECT with a session goes on, keeping its will topic for the login checks', () => {
  const session = freshSession();
  const withWill = decidePreConnect(session, { will: { topic: 'chat/bye', payload: Buffer.from('x'), qos: 0, retain: false } });
  assert.deepEqual(withWill, { action: 'continue', session, willTopic: 'chat/bye' });
  assert.deepEqual(decidePreConnect(session, {}), { action: 'continue', session, willTopic: undefined });
  // Deciding changes nothing: the adapter records the will.
  assert.equal(session.willTopic, undefined);
});
