import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Acl, filterCovers, topicMatches, validateTopicFilter, validateTopicName } from '../../src/broker/acl.js';

test('topicMatches follows MQTT 3.1.1 section 4.7', () => {
  const table: [string, string, boolean][] = [
    ['a/b/c', 'a/b/c', true],
    ['a/b/c', 'a/b', false],
    ['a/b', 'a/b/c', false],
    ['a/+/c', 'a/b/c', true],
    ['a/+/c', 'a//c', true], // '+' matches an empty level
    ['a/+', 'a/b/c', false],
    ['+/+', '/finance', true], // 4.7.1.3 non-normative example
    ['/+', '/finance', true],
    ['+', '/finance', false],
    ['a/#', 'a', true], // MQTT-4.7.1-2: '#' includes the parent level
    ['a/#', 'a/b/c', true],
    ['a/#', 'ab', false],
    ['#', 'a/b', true],
    ['sport/tennis/+', 'sport/tennis/player1/ranking', false],
    ['Accounts', 'accounts', false], // 4.7.3: case sensitive
    // MQTT-4.7.2-1: wildcard-first filters do not match '$' topics
    ['#', '$SYS/broker', false],
    ['+/monitor/Clients', '$SYS/monitor/Clients', false],
    ['$SYS/#', '$SYS/monitor/Clients', true],
    ['$SYS/monitor/+', '$SYS/monitor/Clients', true],
    ['a/#', 'a/$b', true],
    // invalid inputs never match
    ['a/#/b', 'a/x/b', false],
    ['a+', 'a+', false],
    ['a/b', 'a/+', false],
    ['', '', false],
  ];
  for (const [filter, topic, expected] of table) {
    assert.equal(topicMatches(filter, topic), expected, `topicMatches(${JSON.stringify(filter)}, ${JSON.stringify(topic)})`);
  }
});

test('validateTopicFilter and validateTopicName return an error text or null', () => {
  for (const ok of ['a', '/', '#', '+', 'a/+/b', 'a/#', '+/+/#', '$SYS/#', 'a//b']) {
    assert.equal(validateTopicFilter(ok), null, ok);
  }
  for (const bad of ['', 'a#', 'a/#/b', '#/a', 'a+', '+a/b', 'a/b+', 'a/\u0000', 'x'.repeat(65536)]) {
    assert.equal(typeof validateTopicFilter(bad), 'string', JSON.stringify(bad.slice(0, 20)));
  }
  assert.equal(validateTopicName('site/hq/gate/g1/unlock'), null);
  for (const bad of ['', 'a/+', 'a/#', 'a\u0000b']) assert.equal(typeof validateTopicName(bad), 'string', bad);
});

test('filterCovers is true only when every topic the request can match is matched by the ACL filter', () => {
  const table: [string, string, boolean][] = [
    ['#', '#', true],
    ['#', 'a/+/c', true],
    ['#', '$SYS/#', false], // MQTT-4.7.2-1: '#' does not reach '$' topics ...
    ['#', '$SYS/x', false],
    ['+/x', '$SYS/x', false],
    ['$SYS/#', '$SYS/x/#', true], // ... a '$' rule does
    ['a/#', 'a', true],
    ['a/#', 'a/#', true],
    ['a/#', 'a/+/c', true],
    ['a/#', '#', false],
    ['a/#', '+/b', false],
    ['a/+', 'a/b', true],
    ['a/+', 'a/+', true],
    ['a/+', 'a/#', false], // 'a/#' also matches 'a' and 'a/b/c'
    ['a/+', 'a/b/c', false],
    ['a/b', 'a/+', false],
    ['a/b', 'a/b', true],
    ['a/b', 'a/b/#', false],
    ['a/+/#', 'a/b', true],
    ['a/+/#', 'a/#', false], // 'a/#' matches 'a', which 'a/+/#' does not
    ['site/hq/#', 'site/hq/gate/+/state', true],
    ['site/hq/#', 'site/+/gate/g1/state', false],
    ['site/hq/+/+/state', 'site/hq/gate/g1/state', true],
    ['site/hq/+/+/state', 'site/hq/gate/#', false],
    ['bad/#/x', 'bad/a/x', false],
    ['a', 'a+', false],
  ];
  for (const [acl, requested, expected] of table) {
    assert.equal(filterCovers(acl, requested), expected, `filterCovers(${acl}, ${requested})`);
  }
});

test('Acl substitutes %u and %c as whole levels, like mosquitto pattern ACLs', () => {
  const rules = { publish: ['clients/%u/#', 'ids/%c', 'x%u'], subscribe: ['clients/%u/+', 'inbox/%c/#'] };
  const acl = new Acl(rules, { username: 'alice', clientId: 'kiosk-1' });
  assert.equal(acl.canPublish('clients/alice/status'), true);
  assert.equal(acl.canPublish('clients/bob/status'), false);
  assert.equal(acl.canPublish('ids/kiosk-1'), true);
  assert.equal(acl.canPublish('ids/kiosk-2'), false);
  assert.equal(acl.canPublish('xalice'), false, '%u inside a level is not a pattern');
  assert.equal(acl.canPublish('x%u'), true, '... it is a literal level');
  assert.equal(acl.canSubscribe('clients/alice/+'), true);
  assert.equal(acl.canSubscribe('clients/alice/#'), false);
  assert.equal(acl.canSubscribe('clients/+/x'), false);
  assert.equal(acl.canSubscribe('inbox/kiosk-1/#'), true);
  assert.equal(acl.canSubscribe('inbox/kiosk-1/a+'), false, 'invalid filter');
  assert.equal(acl.canPublish('clients/alice/+'), false, 'wildcards are not topic names');
});

test('a %u rule never matches an anonymous client, and names cannot widen a rule', () => {
  const rules = { publish: ['clients/%u/#', 'ids/%c/x'], subscribe: ['clients/%u/#'] };
  const anonymous = new Acl(rules, { clientId: 'c1' });
  assert.equal(anonymous.canPublish('clients/undefined/x'), false);
  assert.equal(anonymous.canPublish('clients//x'), false);
  assert.equal(anonymous.canSubscribe('clients/+/#'), false);
  assert.equal(anonymous.canPublish('ids/c1/x'), true);
  for (const username of ['+', '#', 'a/b', '']) {
    const acl = new Acl(rules, { username, clientId: '#' });
    assert.equal(acl.canPublish(`clients/${username === '' ? 'x' : 'a'}/x`), false, `username ${JSON.stringify(username)}`);
    assert.equal(acl.canSubscribe('clients/+/#'), false, `username ${JSON.stringify(username)}`);
    assert.equal(acl.canPublish('ids/a/x'), false, 'clientId "#" cannot widen ids/%c/x');
  }
});

test('empty rules allow nothing', () => {
  const acl = new Acl({ publish: [], subscribe: [] }, { username: 'u', clientId: 'c' });
  assert.equal(acl.canPublish('a'), false);
  assert.equal(acl.canSubscribe('a'), false);
  assert.equal(acl.canSubscribe('#'), false);
});
