// The Prometheus text-format reader behind `gatehouse status`, and the small pure helpers of the
// metrics module (loopback detection for the warning, flattening the broker's security counters).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { flattenCounters, isCurrentValue, isLoopbackHost } from '../../src/metrics/metrics.js';
import { parseTextFormat, sumOf, TextFormatError } from '../../src/metrics/text-format.js';

test('samples with labels, escapes, special values and timestamps; comments skipped', () => {
  const text = [
    '# HELP a_total A counter.',
    '# TYPE a_total counter',
    'a_total{kind="gate",msg="say \\"hi\\"\\\\ now\\nplease"} 3',
    'b 1.5e-3 1712345678000',
    'c{} +Inf',
    'd NaN',
    'e Nan',
    'f -Inf',
    '   ',
    'g{x="1",} 2',
  ].join('\n');
  const samples = parseTextFormat(text);
  assert.deepEqual(samples[0], { name: 'a_total', labels: { kind: 'gate', msg: 'say "hi"\\ now\nplease' }, value: 3 });
  assert.equal(samples[1].value, 0.0015);
  assert.equal(samples[2].value, Infinity);
  assert.ok(Number.isNaN(samples[3].value) && Number.isNaN(samples[4].value), 'NaN in any case, as prom-client writes it');
  assert.equal(samples[5].value, -Infinity);
  assert.deepEqual(samples[6], { name: 'g', labels: { x: '1' }, value: 2 });
  assert.equal(samples.length, 7);
  assert.equal(sumOf(samples, 'a_total', { kind: 'gate' }), 3);
  assert.equal(sumOf(samples, 'a_total', { kind: 'turnstile' }), 0);
});

test('malformed lines name their line number', () => {
  assert.throws(() => parseTextFormat('ok 1\n{x="1"} 2'), (err: unknown) => err instanceof TextFormatError && err.line === 2);
  assert.throws(() => parseTextFormat('a{x="1} 2'), /line 1: unterminated value of label x/);
  assert.throws(() => parseTextFormat('a{x=1} 2'), /line 1: expected =" after label x/);
  assert.throws(() => parseTextFormat('a 12abc'), /line 1: not a number: "12abc"/);
  assert.throws(() => parseTextFormat('a'), /line 1: not a number: ""/);
});

test('loopback hosts need no warning; any other bind address does', () => {
  for (const host of ['127.0.0.1', '127.1.2.3', '::1', 'localhost']) assert.equal(isLoopbackHost(host), true, host);
  for (const host of ['0.0.0.0', '::', '192.168.1.10', '10.0.0.1', 'gateway.local', '']) assert.equal(isLoopbackHost(host), false, host);
});

test('security counters are flattened to snake_case types; figures that can go down are told apart', () => {
  const flat = flattenCounters({ loginFailures: 2, openConnections: 3, nested: { deniedPublishes: 1 }, label: 'x', negative: -1, map: new Map([['a', 4]]) });
  assert.deepEqual(flat, [
    ['login_failures', 2],
    ['open_connections', 3],
    ['nested_denied_publishes', 1],
    ['map_a', 4],
  ]);
  assert.deepEqual(flat.filter(([type]) => isCurrentValue(type)).map(([type]) => type), ['open_connections']);
  assert.deepEqual(flattenCounters(undefined), []);
  assert.deepEqual(flattenCounters(5), [], 'a bare number has no type');
});
