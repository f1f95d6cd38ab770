// What `gatehouse probe modbus` is asked to read and write, in the words a technician types:
// `--read coils:0:8`, `--read holding:100:4`, `--write coil:5=1`, `--write holding:10=1234`, `--scan 1-247`.
import type { Table } from '../../drivers/modbus/points.js';

export interface ReadRequest {
  table: Table;
  address: number;
  count: number;
}

export type WriteRequest = { table: 'coil'; address: number; value: boolean } | { table: 'holding_register'; address: number; value: number };

/** The words of --read (plural or singular) for each table. */
const READ_TABLES: Record<string, Table> = {
  coils: 'coil',
  coil: 'coil',
  discrete: 'discrete_input',
  holding: 'holding_register',
  input: 'input_register',
};
const WRITE_TABLES: Record<string, 'coil' | 'holding_register'> = { coil: 'coil', coils: 'coil', holding: 'holding_register' };

/** Table words as they appear in output. */
export const TABLE_WORDS: Record<Table, string> = { coil: 'coils', discrete_input: 'discrete inputs', holding_register: 'holding registers', input_register: 'input registers' };

/** Modbus Application Protocol V1.1b3 section 4.4: PDU addresses are 0..65535. */
const ADDRESS_MAX = 0xffff;
/** Most items one probe reads from one table; the driver splits them into requests the protocol allows. */
export const READ_COUNT_MAX = 2000;
/** Modbus over Serial Line V1.02 section 2.2: unit addresses 1..247 (0 is broadcast, never answered). */
export const UNIT_MIN = 1;
export const UNIT_MAX = 247;

const READ_FORM = 'TABLE:ADDRESS:COUNT with TABLE coils, discrete, holding or input (e.g. coils:0:8)';
const WRITE_FORM = 'coil:ADDRESS=0|1 or holding:ADDRESS=VALUE (e.g. coil:5=1, holding:10=1234)';

function integer(text: string): number | undefined {
  return /^\d+$/.test(text) ? Number(text) : undefined;
}

export function parseRead(spec: string): ReadRequest | string {
  const parts = spec.split(':');
  if (parts.length !== 3) return `--read ${spec}: expected ${READ_FORM}`;
  const table = READ_TABLES[parts[0]];
  if (table === undefined) return `--read ${spec}: unknown table ${JSON.stringify(parts[0])}; expected ${READ_FORM}`;
  const address = integer(parts[1]);
  const count = integer(parts[2]);
  if (address === undefined || address > ADDRESS_MAX) return `--read ${spec}: the address must be an integer 0..${ADDRESS_MAX}`;
  if (count === undefined || count < 1 || count > READ_COUNT_MAX) return `--read ${spec}: the count must be an integer 1..${READ_COUNT_MAX}`;
  if (address + count - 1 > ADDRESS_MAX) return `--read ${spec}: ${address}+${count} runs past address ${ADDRESS_MAX}`;
  return { table, address, count };
}

export function parseWrite(spec: string): WriteRequest | string {
  const match = /^([a-z]+):([^=]*)=(.*)$/.exec(spec);
  if (match === null) return `--write ${spec}: expected ${WRITE_FORM}`;
  const table = WRITE_TABLES[match[1]];
  if (table === undefined) return `--write ${spec}: only coils and holding registers can be written; expected ${WRITE_FORM}`;
  const address = integer(match[2]);
  if (address === undefined || address > ADDRESS_MAX) return `--write ${spec}: the address must be an integer 0..${ADDRESS_MAX}`;
  const value = integer(match[3]);
  if (table === 'coil') {
    if (value !== 0 && value !== 1) return `--write ${spec}: a coil takes 0 or 1`;
    return { table, address, value: value === 1 };
  }
  if (value === undefined || value > 0xffff) return `--write ${spec}: a holding register takes an integer 0..65535`;
  return { table, address, value };
}

/** `--scan 1-247` or `--scan 5`: the unit ids to try, in order. */
export function parseScan(spec: string): number[] | string {
  const match = /^(\d+)(?:-(\d+))?$/.exec(spec);
  const first = match ? Number(match[1]) : NaN;
  const last = match ? Number(match[2] ?? match[1]) : NaN;
  if (!match || first < UNIT_MIN || last > UNIT_MAX || first > last) return `--scan ${spec}: expected a unit range FIRST-LAST within ${UNIT_MIN}-${UNIT_MAX} (e.g. 1-247)`;
  return Array.from({ length: last - first + 1 }, (_, i) => first + i);
}

export function parseUnit(spec: string): number | string {
  const unit = integer(spec);
  if (unit === undefined || unit > UNIT_MAX) return `--unit ${spec}: expected a unit id 0..${UNIT_MAX} (1..${UNIT_MAX} on a serial bus)`;
  return unit;
}

export function describeWrite(w: WriteRequest): string {
  return w.table === 'coil' ? `coil ${w.address} = ${w.value ? 1 : 0}` : `holding register ${w.address} = ${w.value}`;
}
