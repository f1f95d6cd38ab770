// Which Modbus read requests one read() takes: points in the same table at adjacent addresses
// share a request, so a door contact and a relay readback cost two requests, not one per point.
import type { ModbusOptions } from './options.js';
import { isBooleanInput, isRegisterTable, type Table } from './points.js';

/** Turns the raw value at a point's address into its reading. */
export type Decode = (raw: boolean | number) => boolean | number;

export interface PlannedPoint {
  name: string;
  /** Index into the request's values. */
  offset: number;
  decode: Decode;
}

export interface PlannedRead {
  table: Table;
  address: number;
  count: number;
  points: PlannedPoint[];
}

/**
 * Most items one request may ask for: Modbus Application Protocol V1.1b3 sections 6.1 and 6.2
 * (2000 coils or discrete inputs), 6.3 and 6.4 (125 registers).
 */
const MAX_COUNT: Record<Table, number> = {
  coil: 2000,
  discrete_input: 2000,
  holding_register: 125,
  input_register: 125,
};

interface Wanted {
  name: string;
  table: Table;
  address: number;
  decode: Decode;
}

/** Every input by name, plus a boolean readback of every output under the output's name. */
export function planReads(options: ModbusOptions): PlannedRead[] {
  const wanted: Wanted[] = [];
  for (const [name, point] of Object.entries(options.inputs)) {
    wanted.push({ name, table: point.table, address: point.address, decode: inputDecoder(point) });
  }
  for (const [name, point] of Object.entries(options.outputs)) {
    const decode: Decode = point.table === 'coil' ? (raw) => raw === true : (raw) => raw === point.on;
    wanted.push({ name, table: point.table, address: point.address, decode });
  }
  const plan: PlannedRead[] = [];
  for (const table of new Set(wanted.map((w) => w.table))) {
    const sorted = wanted.filter((w) => w.table === table).sort((a, b) => a.address - b.address);
    let current: PlannedRead | null = null;
    for (const w of sorted) {
      const end: number = current === null ? -1 : current.address + current.count;
      const fits = current !== null && w.address <= end && w.address + 1 - current.address <= MAX_COUNT[table];
      if (current === null || !fits) {
        current = { table, address: w.address, count: 1, points: [] };
        plan.push(current);
      }
      current.count = Math.max(current.count, w.address - current.address + 1);
      current.points.push({ name: w.name, offset: w.address - current.address, decode: w.decode });
    }
  }
  return plan;
}

function inputDecoder(point: ModbusOptions['inputs'][string]): Decode {
  if (!isBooleanInput(point)) return (raw) => raw;
  const flip = point.invert;
  if (isRegisterTable(point.table)) return (raw) => (raw === point.on) !== flip;
  return (raw) => (raw === true) !== flip;
}
