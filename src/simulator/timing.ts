// How fast and how reliably the simulated people act. Compressed in time so a demo shows
// activity within a minute; tests pass short ranges and certain odds.
import type { Range } from './random.js';

export interface SimTiming {
  /** Unlock to a person pushing the door open. */
  gateApproachMs: Range;
  /** Odds that someone actually comes through after an unlock. */
  gateOpenProbability: number;
  /** How long a normal passage keeps the door open. */
  doorOpenMs: Range;
  /** How long a held-open incident keeps the door open. */
  heldOpenMs: number;
  /** How long a forced door stays open. */
  forcedOpenMs: Range;
  /** Pass pulse to the person reaching the arm. */
  turnstileApproachMs: Range;
  /** Odds that an authorised person actually passes (else they walked away). */
  passProbability: number;
  /** How long the arm rotates (discrete input 0 true); the counter increments when it completes. */
  armTurnMs: number;
  /** Gap between passages while free passage mode is on. */
  freePassageEveryMs: Range;
  /** How long a barrier arm takes from one end to the other. */
  barrierTravelMs: number;
  /** Odds that a vehicle comes once a barrier is open. */
  vehicleProbability: number;
  /** Barrier fully open to the vehicle on its loop. */
  vehicleApproachMs: Range;
  /** How long a vehicle stays on the loop. */
  vehicleOnLoopMs: Range;
}

export const DEFAULT_TIMING: Readonly<SimTiming> = Object.freeze<SimTiming>({
  gateApproachMs: [300, 1500],
  gateOpenProbability: 0.85,
  doorOpenMs: [1000, 4000],
  heldOpenMs: 20_000,
  forcedOpenMs: [2000, 5000],
  turnstileApproachMs: [300, 1200],
  passProbability: 0.9,
  armTurnMs: 400,
  freePassageEveryMs: [1000, 6000],
  barrierTravelMs: 1500,
  vehicleProbability: 0.9,
  vehicleApproachMs: [500, 3000],
  vehicleOnLoopMs: [1500, 5000],
});

/** About one incident per gate every 45 s. */
export const DEFAULT_INCIDENTS_PER_MINUTE = 60 / 45;

const RANGES = ['gateApproachMs', 'doorOpenMs', 'forcedOpenMs', 'turnstileApproachMs', 'freePassageEveryMs', 'vehicleApproachMs', 'vehicleOnLoopMs'] as const;
const DURATIONS = ['heldOpenMs', 'armTurnMs', 'barrierTravelMs'] as const;
const PROBABILITIES = ['gateOpenProbability', 'passProbability', 'vehicleProbability'] as const;

/** Every problem with the overrides, as `timing.<key>: message`. */
export function timingIssues(timing: Partial<SimTiming>): string[] {
  const issues: string[] = [];
  const known = new Set<string>([...RANGES, ...DURATIONS, ...PROBABILITIES]);
  for (const key of Object.keys(timing)) {
    if (!known.has(key)) issues.push(`timing.${key}: unknown setting`);
  }
  for (const key of RANGES) {
    const range = timing[key];
    if (range === undefined) continue;
    const ok =
      Array.isArray(range) &&
      range.length === 2 &&
      range.every((n) => Number.isFinite(n) && n >= 0) &&
      range[0] <= range[1];
    if (!ok) issues.push(`timing.${key}: must be [min, max] milliseconds with 0 <= min <= max`);
  }
  for (const key of DURATIONS) {
    const ms = timing[key];
    if (ms !== undefined && !(Number.isFinite(ms) && ms >= 0)) issues.push(`timing.${key}: must be milliseconds >= 0`);
  }
  for (const key of PROBABILITIES) {
    const p = timing[key];
    if (p !== undefined && !(Number.isFinite(p) && p >= 0 && p <= 1)) issues.push(`timing.${key}: must be between 0 and 1`);
  }
  return issues;
}
