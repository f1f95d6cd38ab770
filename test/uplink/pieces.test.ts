// The small parts of the uplink: message classes, the command allow-list, group commit, the MQTT 5
// response topic policy and packet sizes.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CommandAllowList } from '../../src/uplink/allow-list.js';
import { messageClass } from '../../src/uplink/message-class.js';
import { publishPacketSize, reasonName } from '../../src/uplink/mqtt5.js';
import { responseTopicProblem } from '../../src/uplink/response-topic.js';
import { MemoryOutbox, type OutboxMessage } from '../../src/uplink/outbox.js';
import { OutboxWriter } from '../../src/uplink/outbox-writer.js';
import { RateMeter } from '../../src/uplink/rate-meter.js';
import { msg } from './outbox-conformance.js';

const json = (v: unknown) => Buffer.from(JSON.stringify(v));

describe('messageClass', () => {
  it('classifies what the gateway publishes', () => {
    assert.equal(messageClass('s', 'site/s/gate/g/state', json({ lock: 'locked' }), true), 'retained');
    assert.equal(messageClass('s', 'site/s/gateway/gw/availability', Buffer.from('online'), true), 'retained');
    assert.equal(messageClass('s', 'site/s/gate/g/result', json({ id: '1' }), false), 'result');
    assert.equal(messageClass('s', 'site/s/gate/g/event', json({ event: 'door_forced' }), false), 'security');
    assert.equal(messageClass('s', 'site/s/gate/g/event', json({ event: 'door_held_open' }), false), 'security');
    assert.equal(messageClass('s', 'site/s/gate/g/event', json({ event: 'door_opened' }), false), 'telemetry');
    assert.equal(messageClass('s', 'site/s/gate/g/event', Buffer.from('not json'), false), 'telemetry');
    assert.equal(messageClass('s', 'site/s/app/feed', json({ event: 'door_forced' }), false), 'telemetry', 'only the gateway\'s event topics carry security events');
    assert.equal(messageClass('s', 'site/other/gate/g/result', json({}), false), 'telemetry', 'another site\'s topic is ordinary traffic');
  });
});

describe('responseTopicProblem', () => {
  const problem = (topic: string) => responseTopicProblem('hq', topic);
  it('allows ordinary topics of the site and topics outside every site', () => {
    for (const topic of ['replies/console-1', 'site/hq/app/replies/console/42', 'ops/hq/gate-a', 'site', 'a']) assert.equal(problem(topic), undefined, topic);
  });
  it('refuses what is not a topic name, the broker\'s topics, command and reserved topics, and other sites', () => {
    const cases: [string, RegExp][] = [
      ['', /must not be empty/],
      ['replies/+', /wildcards/],
      ['replies/#', /wildcards/],
      ['a\u0000b', /U\+0000/],
      ['$SYS/broker/load', /belong to the broker/],
      ['site/hq/gate/gate-a/unlock', /command topic/],
      ['site/hq/gate/gate-a/lock', /command topic/],
      ['site/hq/app/replies/42', /command topic/],
      ['site/hq/gate/gate-a/result', /only gatehouse publishes/],
      ['site/hq/camera/cam-1/image', /only gatehouse publishes/],
      ['site/hq/gateway/gw/state', /only gatehouse publishes/],
      ['site/hq/gateway/gw/status', /command topic/],
      ['site/hq/gateway/gw/result', /only gatehouse publishes/],
      ['site/tower/gate/main/unlock', /another site's namespace/],
      ['site/tower/app/replies', /another site's namespace/],
      ['site/tower', /another site's namespace/],
    ];
    for (const [topic, why] of cases) assert.match(problem(topic) ?? 'allowed', why, JSON.stringify(topic));
  });
});

describe('publishPacketSize', () => {
  it('counts fixed header, topic, packet identifier, properties and payload', () => {
    // 0x32, remaining length 1 byte; topic "a/b" (2+3), packet id 2, payload 4.
    assert.equal(publishPacketSize('3.1.1', 'a/b', 4), 1 + 1 + 5 + 2 + 4);
    // MQTT 5 adds the property length (1 byte for 0) ...
    assert.equal(publishPacketSize('5', 'a/b', 4), 1 + 1 + 5 + 2 + 1 + 4);
    // ... and each user property (1 + 2+len + 2+len) and correlation data (1 + 2+len).
    assert.equal(publishPacketSize('5', 'a/b', 4, { userProperties: { k: 'vv' }, correlationData: Buffer.from('xyz') }), 1 + 1 + 5 + 2 + 1 + (1 + 3 + 4) + (1 + 5) + 4);
    // The remaining length takes 2 bytes from 128 on (MQTT 5 section 1.5.5).
    assert.equal(publishPacketSize('3.1.1', 'a/b', 121), 1 + 2 + 5 + 2 + 121);
    assert.equal(publishPacketSize('3.1.1', 'a/b', 120), 1 + 1 + 5 + 2 + 120);
  });
});

describe('reasonName', () => {
  it('names MQTT 5 reason codes and MQTT 3.1.1 CONNACK return codes', () => {
    assert.equal(reasonName(0x87, '5', 'puback'), 'Not authorized');
    assert.equal(reasonName(0x98, '5', 'disconnect'), 'Administrative action');
    assert.equal(reasonName(4, '3.1.1', 'connack'), 'Bad user name or password');
    assert.equal(reasonName(0x80, '3.1.1', 'suback'), 'Failure');
    assert.equal(reasonName(0xfe, '5', 'puback'), 'reason code 0xfe');
  });
});

describe('CommandAllowList', () => {
  it('allows only listed kind/command pairs, with * on either side', () => {
    const list = new CommandAllowList(['gate/unlock', 'turnstile/*', '*/lock']);
    assert.equal(list.allows('gate', 'unlock'), true);
    assert.equal(list.allows('gate', 'lock'), true);
    assert.equal(list.allows('turnstile', 'pass'), true);
    assert.equal(list.allows('camera', 'lock'), true);
    assert.equal(list.allows('camera', 'snapshot'), false);
    assert.equal(new CommandAllowList([]).allows('gate', 'lock'), false, 'nothing unless listed');
  });
});

describe('OutboxWriter', () => {
  it('commits everything handed over in one turn in one append, then notifies', async () => {
    const appends: number[] = [];
    const outbox = new MemoryOutbox({ maxMessages: 100, maxBytes: 100_000 });
    const append = outbox.append.bind(outbox);
    outbox.append = (messages: readonly OutboxMessage[]) => {
      appends.push(messages.length);
      return append(messages);
    };
    let notified = 0;
    const writer = new OutboxWriter(outbox, { error() {}, warn() {} }, { onCommitted: () => notified++, maxBatch: 4 });
    for (let i = 0; i < 3; i++) writer.enqueue(msg('ev', String(i)));
    assert.deepEqual(appends, [], 'nothing before the end of the turn');
    assert.equal(writer.stats().queued, 3);
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(appends, [3]);
    assert.equal(notified, 1);
    for (let i = 0; i < 9; i++) writer.enqueue(msg('ev', String(i)));
    writer.flush();
    assert.deepEqual(appends, [3, 4, 4, 1], 'at most maxBatch per transaction');
    assert.equal(writer.stats().committed, 12);
  });

  it('with afterSync: the link hears of a commit at once, the turn\'s promise settles only once the sync returns', async () => {
    const outbox = new MemoryOutbox({ maxMessages: 100, maxBytes: 100_000 });
    const syncs: { done: () => void; failed: (err: unknown) => void }[] = [];
    const errors: { obj: object; msg?: string }[] = [];
    let notified = 0;
    const writer = new OutboxWriter(outbox, { error: (obj, msg) => void errors.push({ obj, msg }), warn() {} }, { onCommitted: () => notified++, afterSync: (done, failed) => void syncs.push({ done, failed }) });
    let settled = false;
    const first = writer.enqueue(msg('ev', 'a')).then(() => (settled = true));
    writer.flush();
    assert.equal(notified, 1, 'committed: the link may send it');
    assert.equal(syncs.length, 1);
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(settled, false, 'not yet counted: its sync has not returned');
    syncs[0].done();
    await first;

    const second = writer.enqueue(msg('ev', 'b'));
    writer.flush();
    syncs[1].failed(Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' }));
    await second;
    assert.deepEqual(errors.map((e) => [e.msg, e.obj]), [['outbox sync failed; messages for the cloud are committed but perhaps not on disk', { code: 'EIO', err: 'EIO: i/o error, fdatasync' }]]);
    assert.equal(writer.stats().lastError?.code, 'EIO');
    assert.equal(writer.stats().unstored, 0, 'committed, so not counted as lost');
    assert.equal(outbox.stats().depth, 2, 'both messages are in the outbox');
  });

  it('with afterSync: a turn whose commit failed settles at once, with nothing to sync', async () => {
    const outbox = new MemoryOutbox({ maxMessages: 100, maxBytes: 100_000 });
    outbox.append = () => {
      throw Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' });
    };
    let syncs = 0;
    const writer = new OutboxWriter(outbox, { error() {}, warn() {} }, { afterSync: () => void syncs++ });
    const settled = writer.enqueue(msg('ev', 'a'));
    writer.flush();
    await settled;
    assert.equal(syncs, 0);
    assert.equal(writer.stats().unstored, 1);
  });
});

describe('RateMeter', () => {
  it('averages over the window of whole seconds', () => {
    let now = 10_000;
    const meter = new RateMeter(10, () => now);
    meter.add(50);
    now += 1000;
    meter.add(30);
    assert.equal(meter.perSecond(), 8);
    now += 20_000;
    assert.equal(meter.perSecond(), 0, 'old seconds fall out');
  });
});
