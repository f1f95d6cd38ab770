// What the broker does with a PUBLISH (src/broker/publish-policy.ts): each deny reason, in the order
// the checks run, and commands handed on with whether the ACL allows them.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Acl } from '../../src/broker/acl.js';
import { decidePublish } from '../../src/broker/publish-policy.js';
import { classifyTopic } from '../../src/topics.js';

const classify = (topic: string) => classifyTopic('hq', topic);
const guard = new Acl({ publish: ['site/hq/#', '$SYS/#', 'free/#'], subscribe: [] }, { clientId: 'c1', username: 'guard' });
const viewer = new Acl({ publish: ['free/x'], subscribe: [] }, { clientId: 'c2', username: 'viewer' });

describe('publish decisions', () => {
  it('denies an invalid topic name before anything else', () => {
    assert.deepEqual(decidePublish('site/hq/+/g1/unlock', classify, guard), { action: 'deny', reason: 'invalid_topic' });
    assert.deepEqual(decidePublish('', classify, guard, 1), { action: 'deny', reason: 'invalid_topic' });
  });

  it('denies a topic over broker.limits.max_topic_length bytes; at the limit or without one it passes', () => {
    assert.deepEqual(decidePublish('free/abcdef', classify, guard, 10), { action: 'deny', reason: 'topic_too_long' });
    assert.deepEqual(decidePublish('free/abcde', classify, guard, 10), { action: 'allow' });
    assert.deepEqual(decidePublish(`free/${'x'.repeat(5000)}`, classify, guard), { action: 'allow' });
  });

  it('denies $ topics whatever the ACL says', () => {
    assert.deepEqual(decidePublish('$SYS/broker/uptime', classify, guard), { action: 'deny', reason: 'system_topic' });
    assert.deepEqual(decidePublish('$share/x', classify, guard), { action: 'deny', reason: 'system_topic' });
  });

  it('denies reserved topics of the site even to a client whose ACL covers them', () => {
    assert.deepEqual(decidePublish('site/hq/gate/g1/state', classify, guard), { action: 'deny', reason: 'reserved_topic' });
    assert.deepEqual(decidePublish('site/hq/gateway/gw/availability', classify, guard), { action: 'deny', reason: 'reserved_topic' });
  });

  it('hands a command attempt on, with whether the ACL allows it', () => {
    assert.deepEqual(decidePublish('site/hq/gate/g1/unlock', classify, guard), { action: 'command', kind: 'gate', device: 'g1', command: 'unlock', authorized: true });
    assert.deepEqual(decidePublish('site/hq/gate/g1/unlock', classify, viewer), { action: 'command', kind: 'gate', device: 'g1', command: 'unlock', authorized: false });
  });

  it('a client cannot widen a %u or %c rule by its name: such a rule does not apply to it', () => {
    const rules = { publish: ['users/%u/in', 'devices/%c/in'], subscribe: [] };
    for (const [vars, topic] of [
      [{ clientId: 'c1', username: '' }, 'users//in'],
      [{ clientId: '+', username: 'u1' }, 'devices/x/in'],
      [{ clientId: '#', username: 'u1' }, 'devices/x/in'],
      [{ clientId: 'a/b', username: 'u1' }, 'devices/a/b/in'],
      [{ clientId: 'c1', username: 'a/b' }, 'users/a/b/in'],
      [{ clientId: 'c1', username: '+' }, 'users/x/in'],
    ] as const) {
      assert.deepEqual(decidePublish(topic, classify, new Acl(rules, vars)), { action: 'deny', reason: 'acl' }, JSON.stringify(vars));
    }
    const plain = new Acl(rules, { clientId: 'c1', username: 'u1' });
    assert.deepEqual(decidePublish('users/u1/in', classify, plain), { action: 'allow' });
    assert.deepEqual(decidePublish('devices/c1/in', classify, plain), { action: 'allow' });
  });

  it('routes other traffic the ACL allows and denies the rest with reason acl', () => {
    assert.deepEqual(decidePublish('free/x', classify, viewer), { action: 'allow' });
    assert.deepEqual(decidePublish('free/y', classify, viewer), { action: 'deny', reason: 'acl' });
    assert.deepEqual(decidePublish('site/other/gate/g1/unlock', classify, guard), { action: 'deny', reason: 'acl' });
  });
});
