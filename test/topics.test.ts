import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CONTRACT_MAX_TOPIC_BYTES, classifyTopic, commandFilters, deviceKey, isReservedTopic, isServerTopic, isSysTopic, isValidId, parseCommandPattern, parseDeviceKey, siteOfTopic, topics } from '../src/topics.js';

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
    assert.equal(topics.siteTree('s1'), 'site/s1/#');
    assert.equal(topics.imageFilter('s1'), 'site/s1/camera/+/image');
  });

  it('a device key is kind/device and parses back; the device part may hold a slash', () => {
    assert.equal(deviceKey('gate', 'g1'), 'gate/g1');
    assert.deepEqual(parseDeviceKey('gate/g1'), { kind: 'gate', device: 'g1' });
    assert.deepEqual(parseDeviceKey('camera/lobby/2'), { kind: 'camera', device: 'lobby/2' });
  });

  it('command patterns: kind/command, either side an id or *, nothing more', () => {
    assert.deepEqual(parseCommandPattern('gate/unlock'), { kind: 'gate', command: 'unlock' });
    assert.deepEqual(parseCommandPattern('*/lock'), { kind: '*', command: 'lock' });
    assert.deepEqual(parseCommandPattern('turnstile/*'), { kind: 'turnstile', command: '*' });
    assert.deepEqual(parseCommandPattern(`${'k'.repeat(64)}/${'c'.repeat(64)}`), { kind: 'k'.repeat(64), command: 'c'.repeat(64) });
    for (const bad of ['gate', 'gate/', '/unlock', 'x/gate/unlock', 'gate/unlock/x', 'Gate/unlock', 'gate/Unlock', 'gate/un lock', '**/lock', 'gate/*x', `${'k'.repeat(65)}/lock`, `gate/${'c'.repeat(65)}`]) {
      assert.equal(parseCommandPattern(bad), undefined, bad);
    }
  });

  it('server and $SYS topics, the site of a topic, the longest contract topic', () => {
    assert.equal(isServerTopic('$SYS/x'), true);
    assert.equal(isServerTopic('$share/g/x'), true);
    assert.equal(isServerTopic('site/$x'), false);
    assert.equal(isSysTopic('$SYS/broker/uptime'), true);
    assert.equal(isSysTopic('$SYSTEM/x'), false);
    assert.equal(isSysTopic('$SYS'), false);
    assert.equal(isSysTopic('x/$SYS/y'), false);
    assert.equal(siteOfTopic('site/hq/gate/g1/unlock'), 'hq');
    assert.equal(siteOfTopic('site/hq/#'), 'hq');
    assert.equal(siteOfTopic('site/hq'), undefined);
    assert.equal(siteOfTopic('sites/hq/x'), undefined);
    assert.equal(siteOfTopic('x/site/hq'), undefined);
    const longest = topics.command('s'.repeat(64), 'k'.repeat(64), 'd'.repeat(64), 'c'.repeat(64));
    assert.equal(CONTRACT_MAX_TOPIC_BYTES, Buffer.byteLength(longest));
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
    assert.deepEqual(classifyTopic('s1', 'site/s1/gate/g1/resultx'), { type: 'command', site: 's1', kind: 'gate', device: 'g1', command: 'resultx' });
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
    assert.deepEqual(classifyTopic('s1', 'site/s1/gateway/gw/state/x'), { type: 'reserved', site: 's1', leaf: 'state/x' });
    assert.deepEqual(classifyTopic('s1', 'site/s1/gate/g1/event'), { type: 'reserved', site: 's1', leaf: 'event' });
    assert.equal(isReservedTopic('s1', 'site/s1/gate/g1/result'), true);
    assert.equal(isReservedTopic('s1', 'site/s1/gate/g1/unlock'), false);
    assert.equal(isReservedTopic('s1', 'site/s2/gate/g1/result'), false);
  });

  it('leaves other sites and other shapes to the ACL', () => {
    for (const t of ['site/s2/gate/g1/unlock', 'site/s2/gate/g1/state', 'site/s1/gate/g1', 'site/s1/gate/g1/unlock/now', 'bench/echo', '$SYS/x', 'sites/s1/gate/g1/unlock', 'x/s1/gate/g1/unlock']) {
      assert.equal(classifyTopic('s1', t).type, 'other', t);
    }
  });
});
