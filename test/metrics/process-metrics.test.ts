// prom-client's process metrics: the event-loop delay monitor samples every
// EVENT_LOOP_MONITOR_RESOLUTION_MS, not at prom-client's default of 10 ms (100 wake-ups a second).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { EVENT_LOOP_MONITOR_RESOLUTION_MS, processMetricsRegistry } from '../../src/metrics/process-metrics.js';
import { parseTextFormat } from '../../src/metrics/text-format.js';
import { valueOf } from './scrape.js';

test('the event-loop delay monitor samples at EVENT_LOOP_MONITOR_RESOLUTION_MS', async () => {
  const registry = processMetricsRegistry();
  assert.equal(processMetricsRegistry(), registry, 'one registry per process');
  // Several sampling periods, so that the histogram has samples.
  await sleep(EVENT_LOOP_MONITOR_RESOLUTION_MS * 10);
  const samples = parseTextFormat(await registry.metrics());
  // Each recorded delay spans a whole sampling period (libuv rounds timers to whole ms, hence the margin):
  // at prom-client's default of 10 ms the shortest would be about 0.01 s.
  const shortest = valueOf(samples, 'nodejs_eventloop_lag_min_seconds');
  assert.ok(shortest >= (EVENT_LOOP_MONITOR_RESOLUTION_MS * 0.9) / 1000, `shortest delay ${shortest} s`);
  // An empty histogram reports a huge min; this one has samples.
  assert.ok(shortest < 60, `shortest delay ${shortest} s`);
});
