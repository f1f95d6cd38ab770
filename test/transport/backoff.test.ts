import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Backoff } from '../../src/transport/backoff.js';

const noJitter = () => 0;

test('delays grow by the factor from initialMs and stop at maxMs', () => {
  const backoff = new Backoff({ initialMs: 100, maxMs: 1000, random: noJitter });
  const delays = Array.from({ length: 7 }, () => backoff.next());
  assert.deepEqual(delays, [100, 200, 400, 800, 1000, 1000, 1000]);
});

test('a custom factor is honoured', () => {
  const backoff = new Backoff({ initialMs: 10, maxMs: 10_000, factor: 3, jitter: 0 });
  assert.deepEqual([backoff.next(), backoff.next(), backoff.next()], [10, 30, 90]);
});

test('jitter only shortens a delay, by at most the jitter fraction, so maxMs stays a ceiling', () => {
  const lowest = new Backoff({ initialMs: 1000, maxMs: 1000, jitter: 0.2, random: () => 0.999_999 });
  const highest = new Backoff({ initialMs: 1000, maxMs: 1000, jitter: 0.2, random: () => 0 });
  assert.equal(lowest.next(), 800);
  assert.equal(highest.next(), 1000);

  const real = new Backoff({ initialMs: 100, maxMs: 400 });
  for (let i = 0; i < 200; i += 1) {
    const cap = Math.min(400, 100 * 2 ** Math.min(i, 10));
    const delay = real.next();
    assert.ok(delay <= cap && delay >= cap * 0.8 - 1, `delay ${delay} outside [${cap * 0.8}, ${cap}]`);
  }
});

test('jitter spreads two links that failed together', () => {
  const values = [0.1, 0.7];
  const a = new Backoff({ initialMs: 1000, maxMs: 5000, random: () => values[0] });
  const b = new Backoff({ initialMs: 1000, maxMs: 5000, random: () => values[1] });
  assert.notEqual(a.next(), b.next());
});

test('attempt counts delays handed out and reset() starts over', () => {
  const backoff = new Backoff({ initialMs: 50, maxMs: 400, random: noJitter });
  assert.equal(backoff.attempt, 0);
  backoff.next();
  backoff.next();
  backoff.next();
  assert.equal(backoff.attempt, 3);
  backoff.reset();
  assert.equal(backoff.attempt, 0);
  assert.equal(backoff.next(), 50);
});

test('many attempts never overflow past maxMs', () => {
  const backoff = new Backoff({ initialMs: 1, maxMs: 30_000, random: noJitter });
  let last = 0;
  for (let i = 0; i < 5000; i += 1) last = backoff.next();
  assert.equal(last, 30_000);
});

test('nonsensical settings are refused at construction', () => {
  assert.throws(() => new Backoff({ initialMs: -1, maxMs: 10 }), RangeError);
  assert.throws(() => new Backoff({ initialMs: 0, maxMs: 10 }), RangeError);
  assert.throws(() => new Backoff({ initialMs: 100, maxMs: 10 }), RangeError);
  assert.throws(() => new Backoff({ initialMs: 1, maxMs: 10, factor: 0.5 }), RangeError);
  assert.throws(() => new Backoff({ initialMs: 1, maxMs: 10, jitter: 1.5 }), RangeError);
  assert.throws(() => new Backoff({ initialMs: Number.NaN, maxMs: 10 }), RangeError);
});
