import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { classifyTopic, commandFilters, isValidId, topics } from '../src/topics.js';

describe('topic layout', () => {
  it('builds every topic of the contract', () => {
    assert.equal(topics.command('s1', 'gate', 'g1', 'unlock'), 'site/s1/gate/g1/unlock');
    assert.equal(topics.result('s1', 'gate', 'g1'), 'site/s1/gate/g1/result');
    assert.equal(topics.state('s1', 'turnstile', 't1'), 'site/s1/turnstile/t1/state');
    assert.equal(topics.availability('s1', 'gate', 'g1'), 'site/s1/gate/g1/availability');
    assert.equal(topics.event('s1', 'gate', 'g1'), 'site/s1/gate/g1/event');
    assert.equal(topics.image('s1', 'cam1'), 'site/s1/camera/cam1/image');
    assert.equal(topics.gatewayAvailability('s1', 'gw'), 'site/s1/gateway/gw/availability');
    assert.equal(topics.gatewayState('s1', 'gw'), 'site/s1/gateway/gw/state');
  });

  it('checks ids: 1 to 64 of a-z 0-9 _ -', () => {
    assert.ok(isValidId('gate-1_a'));
    assert.ok(isValidId('x'.repeat(64)));
    for (const bad of ['', 'x'.repeat(65), 'Gate', 'a/b', 'a+b', 'a#', 'a b', 'é', 12, null]) assert.equal(isValidId(bad), false, String(bad));
  });

  it('subscribes commands per (kind, command) pair, never with a wildcard matching reserved topics', () => {
    const filters = commandFilters('s1', { gate: ['unlock', 'lock'], turnstile: ['pass'] });
    assert.deepEqual(filters, ['site/s1/gate/+/unlock', 'site/s1/gate/+/lock', 'site/s1/turnstile/+/pass']);
    for (const f of filters) assert.ok(!f.includes('#') && !f.endsWith('/+'));
  });

  it("subscribes the gateway's own commands under its own id only: another gateway of the site answers its own", () => {
    assert.deepEqual(commandFilters('s1', { gate: ['lock'], gateway: ['status', 'reload'] }, 'gw-1'), ['site/s1/gate/+/lock', 'site/s1/gateway/gw-1/status', 'site/s1/gateway/gw-1/reload']);
    assert.equal(topics.gatewayCommand('s1', 'gw-1', 'status'), 'site/s1/gateway/gw-1/status');
    assert.equal(topics.gatewayResult('s1', 'gw-1'), 'site/s1/gateway/gw-1/result');
  });

  it('classifies command attempts of this site', () => {
    assert.deepEqual(classifyTopic('s1', 'site/s1/gate/g1/unlock'), { type: 'command', site: 's1', kind: 'gate', device: 'g1', command: 'unlock' });
    assert.deepEqual(classifyTopic('s1', 'site/s1/spaceship/x/launch'), { type: 'command', site: 's1', kind: 'spaceship', device: 'x', command: 'launch' });
    // Ids that break the rules are still command attempts: they get unknown_device, not silence.
    assert.deepEqual(classifyTopic('s1', 'site/s1/gate/Main-Gate/unlock'), { type: 'command', site: 's1', kind: 'gate', device: 'Main-Gate', command: 'unlock' });
  });

  it("classifies every gatehouse-published leaf and the gateway's tree, but for its commands, as reserved", () => {
    for (const leaf of ['result', 'state', 'availability', 'event', 'image']) {
      assert.equal(classifyTopic('s1', `site/s1/gate/g1/${leaf}`).type, 'reserved', leaf);
      assert.equal(classifyTopic('s1', `site/s1/gate/g1/${leaf}/extra`).type, 'reserved', `${leaf}/extra`);
    }
    assert.equal(classifyTopic('s1', 'site/s1/gateway/gw/state').type, 'reserved');
    assert.equal(classifyTopic('s1', 'site/s1/gateway/gw/result').type, 'reserved');
    assert.equal(classifyTopic('s1', 'site/s1/gateway/gw/event').type, 'reserved');
    assert.equal(classifyTopic('s1', 'site/s1/gateway').type, 'reserved');
    assert.equal(classifyTopic('s1', 'site/s1/gateway/gw').type, 'reserved');
    assert.equal(classifyTopic('s1', 'site/s1/gateway/gw/status/now').type, 'reserved');
    // Five levels with another leaf: a command to the gateway (an unknown one gets unknown_command).
    assert.deepEqual(classifyTopic('s1', 'site/s1/gateway/gw/status'), { type: 'command', site: 's1', kind: 'gateway', device: 'gw', command: 'status' });
    assert.deepEqual(classifyTopic('s1', 'site/s1/gateway/gw/unlock'), { type: 'command', site: 's1', kind: 'gateway', device: 'gw', command: 'unlock' });
  });

  it('leaves other sites and other shapes to the ACL', () => {
    for (const t of ['site/s2/gate/g1/unlock', 'site/s2/gate/g1/state', 'site/s1/gate/g1', 'site/s1/gate/g1/unlock/now', 'bench/echo', '$SYS/x']) {
      assert.equal(classifyTopic('s1', t).type, 'other', t);
    }
  });
});
