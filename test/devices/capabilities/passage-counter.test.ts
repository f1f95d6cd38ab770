// The turnstile's passage counters alone: null until read, events per reading, wrap and jumps.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { passageCounter } from '../../../src/devices/capabilities/passage-counter.js';
import { pieceContext } from './piece-context.js';

function counters() {
  const pc = pieceContext();
  const counter = passageCounter({ inputs: { in: 'count_in', out: 'count_out' } }).create(pc.ctx, undefined as never);
  return { ...pc, counter };
}

test('null until first read; the first reading sets the total without an event', () => {
  const { counter, events, touches } = counters();
  assert.deepEqual(counter.state(), { count_in: null, count_out: null });
  counter.observe({ count_in: 1234, count_out: true });
  assert.deepEqual(counter.state(), { count_in: 1234, count_out: null }, 'a boolean is no count');
  assert.deepEqual(events, []);
  assert.equal(touches(), 1);
});

test('each reading that moves on is one event with the count since the last, across the wrap', () => {
  const { counter, events } = counters();
  counter.observe({ count_in: 65534, count_out: 7 });
  counter.observe({ count_in: 1, count_out: 7 });
  assert.deepEqual(events, [{ type: 'passage', details: { direction: 'in', count: 3, total: 1 } }]);
});

test('a jump too large to be people is resynchronised with a warning and no event', () => {
  const { counter, events, logs } = counters();
  counter.observe({ count_out: 10 });
  counter.observe({ count_out: 10 + 1001 });
  assert.deepEqual(events, []);
  assert.deepEqual(logs.map((l) => [l.level, l.msg, l.obj]), [['warn', 'passage counter jumped; resynchronised without events', { direction: 'out', previous: 10, reading: 1011 }]]);
  assert.deepEqual(counter.state(), { count_in: null, count_out: 1011 });
});

test('a thousand passages in one reading still count (the largest plausible)', () => {
  const { counter, events } = counters();
  counter.observe({ count_in: 0 });
  counter.observe({ count_in: 1000 });
  assert.deepEqual(events, [{ type: 'passage', details: { direction: 'in', count: 1000, total: 1000 } }]);
});

test('it declares its inputs, its one event and a state field per direction', () => {
  const piece = passageCounter({ inputs: { in: 'count_in', out: 'count_out' } });
  assert.deepEqual(piece.inputs, { optional: ['count_in', 'count_out'] });
  assert.deepEqual(Object.keys(piece.events ?? {}), ['passage']);
  assert.deepEqual(Object.keys(piece.state ?? {}), ['count_in', 'count_out']);
});
