// The small parts of the uplink: message classes, the command allow-list, group commit.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CommandAllowList } from '../../src/uplink/allow-list.js';
import { messageClass } from '../../src/uplink/message-class.js';
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
