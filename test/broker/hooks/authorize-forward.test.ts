import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { GrantedQos } from '../../../src/broker/forward-policy.js';
import { decideAuthorizeForward } from '../../../src/broker/hooks/authorize-forward.js';
import { SITE, classify, loggedIn } from './sessions.js';

const policy = { classify, maxInflight: 3 };
const STATE = `site/${SITE}/gate/g1/state`;

function subscriber(granted: Record<string, GrantedQos>, inflight = 0, limitTripped?: boolean) {
  return loggedIn('operator', undefined, { granted: new Map(Object.entries(granted)), inflight: () => inflight, limitTripped });
}

function packet(topic: string, qos: GrantedQos, extra: { dup?: boolean; messageId?: number; clientId?: string } = {}) {
  return { topic, qos, dup: false, ...extra };
}

test('a command published by a client is never forwarded; one the gateway publishes is', () => {
  const session = subscriber({ '#': 2 });
  const UNLOCK = `site/${SITE}/gate/g1/unlock`;
  assert.deepEqual(decideAuthorizeForward(session, packet(UNLOCK, 1, { clientId: 'other' }), policy), { action: 'drop' });
  assert.deepEqual(decideAuthorizeForward(session, packet(UNLOCK, 1), policy), { action: 'deliver', qos: 1, dup: false });
});

test('no session, or no granted filter matching, drops the packet', () => {
  assert.deepEqual(decideAuthorizeForward(undefined, packet(STATE, 1), policy), { action: 'drop' });
  assert.deepEqual(decideAuthorizeForward(subscriber({ 'chat/#': 2 }), packet(STATE, 1), policy), { action: 'drop' });
});

test('the QoS is capped at the highest granted one and DUP kept only for a resend with an id; the packet is not changed', () => {
  const sent = packet(STATE, 2, { dup: true, messageId: 9 });
  assert.deepEqual(decideAuthorizeForward(subscriber({ [`site/${SITE}/#`]: 1 }), sent, policy), { action: 'deliver', qos: 1, dup: true });
  assert.deepEqual(sent, { topic: STATE, qos: 2, dup: true, messageId: 9 });
  assert.deepEqual(decideAuthorizeForward(subscriber({ [`site/${SITE}/#`]: 0 }), sent, policy), { action: 'deliver', qos: 0, dup: false });
  assert.deepEqual(decideAuthorizeForward(subscriber({ '#': 2 }), packet(STATE, 1, { dup: true }), policy), { action: 'deliver', qos: 1, dup: false });
});

test('broker.limits.max_inflight: the packet that reaches it trips the limit once; later ones are held', () => {
  assert.deepEqual(decideAuthorizeForward(subscriber({ '#': 2 }, 2), packet(STATE, 1), policy), { action: 'deliver', qos: 1, dup: false });
  assert.deepEqual(decideAuthorizeForward(subscriber({ '#': 2 }, 3), packet(STATE, 1), policy), { action: 'over_inflight', trip: { inflight: 3 }, qos: 1, dup: false });
  assert.deepEqual(decideAuthorizeForward(subscriber({ '#': 2 }, 0, true), packet(STATE, 2), policy), { action: 'over_inflight', trip: null, qos: 2, dup: false });
});

test('QoS 0 needs no acknowledgement and is delivered whatever the in-flight count', () => {
  assert.deepEqual(decideAuthorizeForward(subscriber({ '#': 2 }, 99, true), packet(STATE, 0), policy), { action: 'deliver', qos: 0, dup: false });
});
