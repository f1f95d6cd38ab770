// Percentiles and a text histogram of the fleet bench's per-gateway times.

export interface Percentiles {
  n: number;
  min: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

export function percentiles(values: readonly number[]): Percentiles {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? NaN;
  return { n: sorted.length, min: sorted[0] ?? NaN, p50: at(0.5), p90: at(0.9), p99: at(0.99), max: sorted.at(-1) ?? NaN };
}

/** One line per `bucketMs` from 0 to the largest value: its range, a bar and the count. */
export function histogram(values: readonly number[], bucketMs: number): string[] {
  if (values.length === 0) return [];
  const buckets = Array.from({ length: Math.floor(Math.max(...values) / bucketMs) + 1 }, () => 0);
  for (const v of values) buckets[Math.max(0, Math.floor(v / bucketMs))]++;
  const s = (ms: number) => (ms / 1000).toFixed(1);
  return buckets.map((count, i) => `${s(i * bucketMs).padStart(5)}-${s((i + 1) * bucketMs).padEnd(5)} s ${'#'.repeat(count).padEnd(Math.max(...buckets))} ${count}`);
}
