import type { Random } from './random.js';
import type { SimTiming } from './timing.js';
import type { PointTables } from './point-tables.js';

/** The kinds the site simulator can play. */
export const SIMULATED_KINDS = ['gate', 'turnstile', 'barrier'] as const;
export type SimulatedKind = (typeof SIMULATED_KINDS)[number];

export interface SimulatorLog {
  info(obj: object, msg?: string): void;
  debug(obj: object, msg?: string): void;
}

/** What every simulated device model is handed. */
export interface ModelContext {
  unit: number;
  name: string;
  rng: Random;
  timing: SimTiming;
  log: SimulatorLog;
}

/** The behaviour behind one unit id: its register image plus the simulated people acting on it. */
export interface DeviceModel {
  readonly kind: SimulatedKind;
  readonly tables: PointTables;
  /** Called after a Modbus write stored `value` in coil `address` (which held `previous`). */
  coilWritten(address: number, value: boolean, previous: boolean): void;
  /** Begins spontaneous activity (incidents, free passage). */
  start(): void;
  /** Cancels every timer and settles the device at rest (door closed, arm still, loop clear). */
  stop(): void;
}

export const silentLog: SimulatorLog = { info() {}, debug() {} };
