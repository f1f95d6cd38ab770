import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EventBus } from '../src/event-bus.js';

interface Events {
  [name: string]: unknown;
  tick: { n: number };
  other: string;
}

function recordingLog() {
  const errors: { obj: Record<string, unknown>; msg: string }[] = [];
  return { errors, log: { error: (obj: object, msg: string) => void errors.push({ obj: obj as Record<string, unknown>, msg }) } };
}

test('listeners of an event are called in subscription order with its payload; others are not', () => {
  const { log } = recordingLog();
  const bus = new EventBus<Events>(log);
  const heard: string[] = [];
  bus.on('tick', 'a', (p) => void heard.push(`a${p.n}`));
  bus.on('tick', 'b', (p) => void heard.push(`b${p.n}`));
  bus.on('other', 'c', (p) => void heard.push(`c${p}`));
  bus.emit('tick', { n: 1 });
  assert.deepEqual(heard, ['a1', 'b1']);
  assert.equal(bus.listenerCount('tick'), 2);
});

test('one listener throwing is logged with its name and does not stop the others', () => {
  const { log, errors } = recordingLog();
  const bus = new EventBus<Events>(log);
  const heard: number[] = [];
  bus.on('tick', 'first', (p) => void heard.push(p.n));
  bus.on('tick', 'broken', () => {
    throw new Error('boom');
  });
  bus.on('tick', 'last', (p) => void heard.push(p.n * 10));
  assert.doesNotThrow(() => bus.emit('tick', { n: 2 }));
  assert.deepEqual(heard, [2, 20]);
  assert.equal(errors.length, 1);
  assert.equal(errors[0].obj.listener, 'broken');
  assert.equal(errors[0].obj.event, 'tick');
  assert.match(String(errors[0].obj.err), /boom/);
});

test('a listener whose promise rejects is logged too', async () => {
  const { log, errors } = recordingLog();
  const bus = new EventBus<Events>(log);
  bus.on('other', 'async-broken', async () => {
    throw new Error('later');
  });
  bus.emit('other', 'x');
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(errors.length, 1);
  assert.equal(errors[0].obj.listener, 'async-broken');
});

test('unsubscribing stops delivery; a listener removed during an emit still gets that emit', () => {
  const { log } = recordingLog();
  const bus = new EventBus<Events>(log);
  const heard: string[] = [];
  let offB: () => void = () => undefined;
  const offA = bus.on('tick', 'a', () => {
    heard.push('a');
    offB();
  });
  offB = bus.on('tick', 'b', () => void heard.push('b'));
  bus.emit('tick', { n: 0 });
  assert.deepEqual(heard, ['a', 'b']);
  bus.emit('tick', { n: 0 });
  assert.deepEqual(heard, ['a', 'b', 'a']);
  offA();
  bus.emit('tick', { n: 0 });
  assert.deepEqual(heard, ['a', 'b', 'a']);
  assert.equal(bus.listenerCount('tick'), 0);
});

test('emitSettled waits for every listener, a failing one included', async () => {
  const { log, errors } = recordingLog();
  const bus = new EventBus<Events>(log);
  const done: string[] = [];
  bus.on('tick', 'slow', async () => {
    await new Promise((resolve) => setTimeout(resolve, 5));
    done.push('slow');
  });
  bus.on('tick', 'failing', async () => {
    throw new Error('nope');
  });
  bus.on('tick', 'sync', () => void done.push('sync'));
  await bus.emitSettled('tick', { n: 1 });
  assert.deepEqual(done.sort(), ['slow', 'sync']);
  assert.equal(errors.length, 1);
});
