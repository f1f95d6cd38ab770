// Runs a measurement in rounds: in each round every lane makes one probe, all lanes in parallel,
// and the round ends when the slowest lane is done. One lane is the sequential case. Between rounds
// the runner waits a random gap, so that gates' relock writes (fired `duration_ms` after the last
// unlock) land before, between and during later commands instead of being postponed forever.

export interface Probe {
  (lane: number, seq: number): Promise<ProbeOutcome>;
}

/** Named figures in ms (e.g. {round_trip}, or {echo, modbus, sum}), or the error code of a failed probe. */
export type ProbeOutcome = { values: Record<string, number> } | { error: string };

export interface PhaseResult {
  lanes: number;
  rounds: number;
  /** Rounds that ran; fewer than asked when the phase hit its time budget. */
  roundsRun: number;
  wallMs: number;
  values: Record<string, number[]>;
  errors: Record<string, number>;
}

export interface PhaseOptions {
  lanes: number;
  rounds: number;
  gapMs: () => number;
  budgetMs: number;
  seqBase?: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function runPhase(probe: Probe, o: PhaseOptions): Promise<PhaseResult> {
  const result: PhaseResult = { lanes: o.lanes, rounds: o.rounds, roundsRun: 0, wallMs: 0, values: {}, errors: {} };
  const startedAt = Date.now();
  const lanes = Array.from({ length: o.lanes }, (_, i) => i);
  for (let round = 0; round < o.rounds; round++) {
    if (Date.now() - startedAt > o.budgetMs) break;
    const outcomes = await Promise.all(
      lanes.map((lane) =>
        probe(lane, (o.seqBase ?? 0) + round).catch((err: Error): ProbeOutcome => ({ error: /no reply/.test(err.message) ? 'no_reply' : err.message.slice(0, 60) })),
      ),
    );
    for (const outcome of outcomes) {
      if ('error' in outcome) {
        result.errors[outcome.error] = (result.errors[outcome.error] ?? 0) + 1;
        continue;
      }
      for (const [key, ms] of Object.entries(outcome.values)) (result.values[key] ??= []).push(ms);
    }
    result.roundsRun++;
    const gap = o.gapMs();
    if (gap > 0 && round < o.rounds - 1) await sleep(gap);
  }
  result.wallMs = Date.now() - startedAt;
  return result;
}
