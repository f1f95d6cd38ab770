import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Random } from '../../src/simulator/random.js';

const draws = (rng: Random, n: number) => Array.from({ length: n }, () => rng.next());

test('the same seed gives the same sequence, another seed another one', () => {
  assert.deepEqual(draws(new Random(2024), 20), draws(new Random(2024), 20));
  assert.notDeepEqual(draws(new Random(2024), 20), draws(new Random(2025), 20));
});

test('derived streams are reproducible and differ per salt', () => {
  assert.deepEqual(draws(Random.derive(7, 1), 10), draws(Random.derive(7, 1), 10));
  assert.notDeepEqual(draws(Random.derive(7, 1), 10), draws(Random.derive(7, 2), 10));
});

test('draws stay within their bounds', () => {
  const rng = new Random(99);
  for (let i = 0; i < 10_000; i++) {
    const x = rng.next();
    assert.ok(x >= 0 && x < 1);
    const ms = rng.between([300, 1500]);
    assert.ok(Number.isInteger(ms) && ms >= 300 && ms <= 1500);
    assert.ok(rng.exponential(1000) >= 0);
  }
  assert.equal(rng.between([5, 5]), 5);
  assert.equal(new Random(3).chance(0), false);
  assert.equal(new Random(3).chance(1), true);
});

test('exponential waits average out to their mean', () => {
  const rng = new Random(5);
  const n = 20_000;
  let total = 0;
  for (let i = 0; i < n; i++) total += rng.exponential(45_000);
  const mean = total / n;
  assert.ok(mean > 42_000 && mean < 48_000, `mean ${mean}`);
});
