import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SUBSCRIBE_DENIALS_JOURNALED, decideAuthorizeSubscribe } from '../../../src/broker/hooks/authorize-subscribe.js';
import { SITE, freshSession, loggedIn } from './sessions.js';

const limits = { maxTopicLength: 1024, maxSubscriptions: 2 };

test('a filter the ACL covers is granted at the requested QoS; deciding changes nothing', () => {
  const session = loggedIn();
  assert.deepEqual(decideAuthorizeSubscribe('c1', session, { topic: `site/${SITE}/+/+/state`, qos: 1 }, limits), { action: 'grant', qos: 1 });
  assert.equal(session.granted.size, 0);
});

test('refusals name their reason: invalid filter, ACL, not logged in', () => {
  const invalid = decideAuthorizeSubscribe('c1', loggedIn(), { topic: 'chat/#/x', qos: 0 }, limits);
  assert.equal(invalid.action === 'deny' && invalid.event.reason, 'invalid_filter');
  const acl = decideAuthorizeSubscribe('c1', loggedIn(), { topic: 'other/#', qos: 0 }, limits);
  assert.deepEqual(acl, {
    action: 'deny',
    event: { type: 'subscribe_denied', clientId: 'c1', username: 'operator', peer: '192.0.2.7:50123', protocol: 'mqtt+tcp', topic: 'other/#', reason: 'acl' },
    overLimit: null,
    report: 'journal',
    message: 'mqtt subscribe refused',
  });
  assert.equal(decideAuthorizeSubscribe('c1', freshSession(), { topic: 'chat/x', qos: 0 }, limits).action, 'deny');
  const noSession = decideAuthorizeSubscribe('c1', undefined, { topic: 'chat/x', qos: 0 }, limits);
  assert.equal(noSession.action === 'deny' && noSession.event.peer, 'unknown');
});

test('broker.limits.max_subscriptions refuses a new filter at the limit, not the renewal of a held one', () => {
  const session = loggedIn('operator', undefined, { granted: new Map([['chat/a', 0], ['chat/b', 1]]) });
  const refused = decideAuthorizeSubscribe('c1', session, { topic: 'chat/c', qos: 0 }, limits);
  assert.equal(refused.action === 'deny' && refused.overLimit, 'max_subscriptions');
  assert.equal(refused.action === 'deny' && refused.event.reason, 'max_subscriptions');
  assert.equal(refused.action === 'deny' && refused.message, 'mqtt subscribe refused: broker.limits.max_subscriptions reached');
  assert.deepEqual(decideAuthorizeSubscribe('c1', session, { topic: 'chat/b', qos: 2 }, limits), { action: 'grant', qos: 2 });
});

test('broker.limits.max_topic_length refuses a long filter and names the config key', () => {
  const refused = decideAuthorizeSubscribe('c1', loggedIn(), { topic: `chat/${'x'.repeat(40)}`, qos: 0 }, { ...limits, maxTopicLength: 32 });
  assert.equal(refused.action === 'deny' && refused.overLimit, 'topic_too_long');
  assert.equal(refused.action === 'deny' && refused.message, 'mqtt subscribe refused: broker.limits.max_topic_length reached');
});

test(`past ${SUBSCRIBE_DENIALS_JOURNALED} refusals on one connection, refusals are counted and logged, not journaled`, () => {
  const at = (subscribeDenials: number) => {
    const decision = decideAuthorizeSubscribe('c1', loggedIn('operator', undefined, { subscribeDenials }), { topic: 'other/#', qos: 0 }, limits);
    return decision.action === 'deny' ? decision.report : decision.action;
  };
  assert.equal(at(0), 'journal');
  assert.equal(at(SUBSCRIBE_DENIALS_JOURNALED - 1), 'journal');
  assert.equal(at(SUBSCRIBE_DENIALS_JOURNALED), 'first-unjournaled');
  assert.equal(at(SUBSCRIBE_DENIALS_JOURNALED + 1), 'unjournaled');
});
