import assert from 'node:assert/strict';
import { test } from 'node:test';
import { applyForwardPolicy, grantedQosFor, type ForwardedPacket, type GrantedQos } from '../../src/broker/forward-policy.js';

const granted = new Map<string, GrantedQos>([
  ['a/#', 0],
  ['a/b', 2],
  ['#', 1],
]);

test('grantedQosFor takes the highest QoS of the matching filters, honouring MQTT-4.7.2-1', () => {
  assert.equal(grantedQosFor(granted, 'a/b'), 2);
  assert.equal(grantedQosFor(granted, 'a/c'), 1);
  assert.equal(grantedQosFor(granted, 'z'), 1);
  assert.equal(grantedQosFor(granted, '$SYS/x'), -1);
  assert.equal(grantedQosFor(new Map(), 'a'), -1);
});

test('applyForwardPolicy caps QoS, clears a copied DUP, keeps a resend DUP and drops unmatched topics', () => {
  const live: ForwardedPacket = { topic: 'a/c', qos: 2, dup: true };
  assert.equal(applyForwardPolicy(live, granted), true);
  assert.deepEqual(live, { topic: 'a/c', qos: 1, dup: false });

  const resend: ForwardedPacket = { topic: 'a/b', qos: 2, dup: true, messageId: 7 };
  assert.equal(applyForwardPolicy(resend, granted), true);
  assert.deepEqual(resend, { topic: 'a/b', qos: 2, dup: true, messageId: 7 });

  const downToZero: ForwardedPacket = { topic: 'a/c', qos: 1, dup: true, messageId: 3 };
  assert.equal(applyForwardPolicy(downToZero, new Map([['a/#', 0]])), true);
  assert.equal(downToZero.qos, 0);
  assert.equal(downToZero.dup, false, 'MQTT-3.3.1-2: never DUP at QoS 0');

  assert.equal(applyForwardPolicy({ topic: '$app/x', qos: 1, dup: false }, granted), false);
});
