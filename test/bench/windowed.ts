// Throughput with a window: `lanes` probes in flight at all times, each lane starting its next
// probe as soon as its last one ends, until `total` probes have started. Unlike runPhase's rounds
// nothing waits for the slowest lane, so the rate is what the path sustains with that many in flight.
import type { ProbeOutcome, Probe } from './phases.js';

export interface WindowedResult {
  lanes: number;
  total: number;
  done: number;
  wallMs: number;
  /** Completed probes per second of wall time. */
  perS: number;
  values: Record<string, number[]>;
  errors: Record<string, number>;
}

export async function runWindowed(probe: Probe, o: { lanes: number; total: number; budgetMs: number }): Promise<WindowedResult> {
  const result: WindowedResult = { lanes: o.lanes, total: o.total, done: 0, wallMs: 0, perS: 0, values: {}, errors: {} };
  const startedAt = performance.now();
  let started = 0;
  const record = (outcome: ProbeOutcome) => {
    result.done++;
    if ('error' in outcome) {
      result.errors[outcome.error] = (result.errors[outcome.error] ?? 0) + 1;
      return;
    }
    for (const [key, ms] of Object.entries(outcome.values)) (result.values[key] ??= []).push(ms);
  };
  const lane = async (index: number) => {
    for (let seq = 0; started < o.total && performance.now() - startedAt < o.budgetMs; seq++) {
      started++;
      record(await probe(index, seq).catch((err: Error): ProbeOutcome => ({ error: /no reply/.test(err.message) ? 'no_reply' : err.message.slice(0, 60) })));
    }
  };
  await Promise.all(Array.from({ length: o.lanes }, (_, i) => lane(i)));
  result.wallMs = performance.now() - startedAt;
  result.perS = (result.done * 1000) / result.wallMs;
  return result;
}
