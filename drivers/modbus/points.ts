// How one named point maps onto a Modbus table, and the parsing of a single point's options.
import type { ConfigIssue } from '../../src/driver-api.js';

/** The four primary tables, Modbus Application Protocol V1.1b3 section 4.3. */
export type Table = 'coil' | 'discrete_input' | 'holding_register' | 'input_register';
export const TABLES: readonly Table[] = ['coil', 'discrete_input', 'holding_register', 'input_register'];
/** Clients can only read these. */
const READ_ONLY: readonly Table[] = ['discrete_input', 'input_register'];
const REGISTER_TABLES: readonly Table[] = ['holding_register', 'input_register'];

export type OutputPoint =
  | { table: 'coil'; address: number }
  /** `on` is written to switch on, `off` to switch off. */
  | { table: 'holding_register'; address: number; on: number; off: number };

export interface InputPoint {
  table: Table;
  address: number;
  /**
   * Register inputs only: read as a boolean that is true when the register equals `on`.
   * Absent on a register input: the input is numeric.
   */
  on?: number;
  /** Boolean inputs only: flips the reading. */
  invert: boolean;
}

export function isRegisterTable(table: Table): boolean {
  return REGISTER_TABLES.includes(table);
}

export function isBooleanInput(point: InputPoint): boolean {
  return !isRegisterTable(point.table) || point.on !== undefined;
}

const ADDRESS_MAX = 0xffff; // PDU addresses are 16 bits, section 4.4
const REGISTER_MAX = 0xffff;
const TABLE_LIST = TABLES.join(', ');

/** `base.key`, or `base["odd key"]` when the key is not a plain identifier. */
export function keyPath(base: string, key: string): string {
  return /^[A-Za-z_][A-Za-z0-9_-]*$/.test(key) ? `${base}.${key}` : `${base}[${JSON.stringify(key)}]`;
}

export function isMapping(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function describe(value: unknown): string {
  return value === undefined ? 'nothing' : JSON.stringify(value) ?? String(value);
}

function parseWord(raw: unknown, path: string, what: string, max: number, issues: ConfigIssue[]): number | undefined {
  if (typeof raw === 'number' && Number.isInteger(raw) && raw >= 0 && raw <= max) return raw;
  issues.push({ path, message: `${what} must be an integer 0..${max}, got ${describe(raw)}` });
  return undefined;
}

/** Finds the one table key of a point mapping and its address. */
function parseLocation(
  raw: Record<string, unknown>,
  path: string,
  issues: ConfigIssue[],
): { table: Table; address: number | undefined } | undefined {
  const present = TABLES.filter((t) => Object.hasOwn(raw, t));
  if (present.length === 0) {
    issues.push({ path, message: `needs exactly one of ${TABLE_LIST}, e.g. { coil: 0 }` });
    return undefined;
  }
  if (present.length > 1) {
    issues.push({ path, message: `has ${present.join(' and ')}; give exactly one of ${TABLE_LIST}` });
    return undefined;
  }
  const table = present[0];
  const address = parseWord(raw[table], keyPath(path, table), `${table} address`, ADDRESS_MAX, issues);
  return { table, address };
}

function reportUnknownKeys(raw: Record<string, unknown>, allowed: readonly string[], path: string, issues: ConfigIssue[]): void {
  for (const key of Object.keys(raw)) {
    if (!TABLES.includes(key as Table) && !allowed.includes(key)) {
      const hint = allowed.length > 0 ? `; allowed besides the table: ${allowed.join(', ')}` : '';
      issues.push({ path: keyPath(path, key), message: `unknown key${hint}` });
    }
  }
}

/** `{ coil: n }` or `{ holding_register: n, on?: 1, off?: 0 }`. */
export function parseOutputPoint(raw: unknown, path: string, issues: ConfigIssue[]): OutputPoint | undefined {
  if (!isMapping(raw)) {
    issues.push({ path, message: `must be a mapping like { coil: 0 } or { holding_register: 10, on: 1, off: 0 }, got ${describe(raw)}` });
    return undefined;
  }
  const before = issues.length;
  const location = parseLocation(raw, path, issues);
  if (location !== undefined && READ_ONLY.includes(location.table)) {
    issues.push({
      path: keyPath(path, location.table),
      message: `${location.table} is read-only; an output needs coil or holding_register`,
    });
  }
  const isRegister = location?.table === 'holding_register';
  reportUnknownKeys(raw, ['on', 'off'], path, issues);
  if (!isRegister && location !== undefined) {
    for (const key of ['on', 'off']) {
      if (Object.hasOwn(raw, key)) {
        issues.push({
          path: keyPath(path, key),
          message: 'on/off values apply to holding_register outputs only; a coil is simply set or cleared',
        });
      }
    }
  }
  let on: number | undefined = 1;
  let off: number | undefined = 0;
  if (isRegister) {
    if (raw.on !== undefined) on = parseWord(raw.on, keyPath(path, 'on'), 'on value', REGISTER_MAX, issues);
    if (raw.off !== undefined) off = parseWord(raw.off, keyPath(path, 'off'), 'off value', REGISTER_MAX, issues);
    if (on !== undefined && on === off) {
      issues.push({ path: keyPath(path, 'on'), message: `on and off are both ${on}; they must differ` });
    }
  }
  if (location === undefined || location.address === undefined || issues.length > before) return undefined;
  if (location.table === 'coil') return { table: 'coil', address: location.address };
  return { table: 'holding_register', address: location.address, on: on as number, off: off as number };
}

/** `{ coil | discrete_input: n, invert? }` or `{ input_register | holding_register: n, on?, invert? }`. */
export function parseInputPoint(raw: unknown, path: string, issues: ConfigIssue[]): InputPoint | undefined {
  if (!isMapping(raw)) {
    issues.push({ path, message: `must be a mapping like { discrete_input: 0 } or { input_register: 3 }, got ${describe(raw)}` });
    return undefined;
  }
  const before = issues.length;
  const location = parseLocation(raw, path, issues);
  const isRegister = location !== undefined && isRegisterTable(location.table);
  reportUnknownKeys(raw, isRegister ? ['on', 'invert'] : ['invert'], path, issues);

  let on: number | undefined;
  if (isRegister && Object.hasOwn(raw, 'on')) {
    on = parseWord(raw.on, keyPath(path, 'on'), 'on value', REGISTER_MAX, issues);
  }
  let invert = false;
  if (Object.hasOwn(raw, 'invert')) {
    if (typeof raw.invert !== 'boolean') {
      issues.push({ path: keyPath(path, 'invert'), message: `invert must be true or false, got ${describe(raw.invert)}` });
    } else if (isRegister && !Object.hasOwn(raw, 'on')) {
      issues.push({
        path: keyPath(path, 'invert'),
        message: 'invert applies to boolean inputs; add on: <value> to read this register as a boolean',
      });
    } else {
      invert = raw.invert;
    }
  }
  if (location === undefined || location.address === undefined || issues.length > before) return undefined;
  const point: InputPoint = { table: location.table, address: location.address, invert };
  if (on !== undefined) point.on = on;
  return point;
}
