// Measures the gateway and its floor in alternating blocks, so that load that comes and goes on the
// machine (other processes, CPU frequency) falls on both alike, and the ratio stays meaningful.
import type { ModbusDevice } from '../support/modbus-device.js';
import { runPhase, type PhaseResult, type Probe } from './phases.js';
import { cpuMsOf } from './proc-stats.js';

const SETTLE_TIMEOUT_MS = 10_000;
const SETTLE_POLL_MS = 20;
/** Lets the device's stdout records of the last writes arrive before they are read. */
const RECORD_LAG_MS = 50;

export interface WriteCounts {
  unlocks: number;
  relocks: number;
}

export interface Measured {
  phase: PhaseResult;
  /** CPU time the gateway process used while this side's blocks ran. */
  gatewayCpuMs: number;
  /** Coil-0 writes the device recorded while this side's blocks ran. */
  writes: WriteCounts;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function emptyMeasured(lanes: number): Measured {
  return {
    phase: { lanes, rounds: 0, roundsRun: 0, wallMs: 0, values: {}, errors: {} },
    gatewayCpuMs: 0,
    writes: { unlocks: 0, relocks: 0 },
  };
}

function add(into: Measured, block: PhaseResult, cpuMs: number, writes: WriteCounts): void {
  const p = into.phase;
  p.rounds += block.rounds;
  p.roundsRun += block.roundsRun;
  p.wallMs += block.wallMs;
  for (const [key, values] of Object.entries(block.values)) (p.values[key] ??= []).push(...values);
  for (const [code, n] of Object.entries(block.errors)) p.errors[code] = (p.errors[code] ?? 0) + n;
  into.gatewayCpuMs += cpuMs;
  into.writes.unlocks += writes.unlocks;
  into.writes.relocks += writes.relocks;
}

/** Coil-0 writes the pymodbus device recorded between two epoch-ms instants. */
export function coilWrites(device: ModbusDevice, from: number, to: number): WriteCounts {
  const counts = { unlocks: 0, relocks: 0 };
  for (const w of device.writes) {
    if (w.table !== 'co' || w.address !== 0 || w.t < from || w.t > to) continue;
    if (w.values[0] === true) counts.unlocks++;
    else counts.relocks++;
  }
  return counts;
}

/** Units whose last recorded coil-0 write released the gate (its pulse has not ended yet). */
function releasedUnits(device: ModbusDevice): number[] {
  const last = new Map<number, boolean>();
  for (const w of device.writes) if (w.table === 'co' && w.address === 0) last.set(w.unit, w.values[0] === true);
  return [...last].filter(([, released]) => released).map(([unit]) => unit);
}

/**
 * Waits until every gate has relocked. Floor probes write `false` to the same coil; run during a
 * pulse they would end it behind the gateway's back.
 */
export async function waitAllLocked(device: ModbusDevice): Promise<void> {
  await sleep(RECORD_LAG_MS);
  const deadline = Date.now() + SETTLE_TIMEOUT_MS;
  for (let released = releasedUnits(device); released.length > 0; released = releasedUnits(device)) {
    if (Date.now() > deadline) throw new Error(`units ${released.join(', ')} still released ${SETTLE_TIMEOUT_MS} ms after the last command`);
    await sleep(SETTLE_POLL_MS);
  }
}

export interface InterleaveOptions {
  floor: Probe;
  gateway: Probe;
  lanes: number;
  /** Rounds per side in all; split evenly over the blocks. */
  rounds: number;
  blocks: number;
  gapMs: () => number;
  budgetMs: number;
  device: ModbusDevice;
  gatewayPid: number;
}

export async function measureInterleaved(o: InterleaveOptions): Promise<{ floor: Measured; gateway: Measured }> {
  const floor = emptyMeasured(o.lanes);
  const gateway = emptyMeasured(o.lanes);
  const startedAt = Date.now();
  const perBlock = Math.ceil(o.rounds / o.blocks);
  for (let block = 0, left = o.rounds; left > 0; block++, left -= perBlock) {
    const remaining = o.budgetMs - (Date.now() - startedAt);
    if (remaining <= 0) break;
    const rounds = Math.min(perBlock, left);
    // Alternate which side goes first, so neither always follows the other's after-effects.
    const order = block % 2 === 0 ? (['floor', 'gateway'] as const) : (['gateway', 'floor'] as const);
    for (const side of order) {
      if (side === 'floor') await waitAllLocked(o.device);
      const cpuBefore = cpuMsOf(o.gatewayPid);
      const from = Date.now();
      const result = await runPhase(side === 'floor' ? o.floor : o.gateway, {
        lanes: o.lanes,
        rounds,
        gapMs: o.gapMs,
        budgetMs: remaining / 2,
      });
      const to = Date.now();
      const cpuMs = cpuMsOf(o.gatewayPid) - cpuBefore;
      await sleep(RECORD_LAG_MS);
      add(side === 'floor' ? floor : gateway, result, cpuMs, coilWrites(o.device, from, to));
    }
  }
  await waitAllLocked(o.device);
  return { floor, gateway };
}
