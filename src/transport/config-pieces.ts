// Config pieces that several transports share: reconnect backoff, serial line settings, and the
// "did you mean" hint on unknown keys.
import type { ConfigIssue } from '../driver-api.js';
import { parseFields, type FieldProblem, type FieldSpecs } from '../config/fields.js';
import { suggestionFor } from '../config/suggest.js';
import type { BackoffOptions } from './backoff.js';
import type { KeyDoc } from './definition.js';

export interface BackoffConfig {
  initial_ms: number;
  max_ms: number;
}

const BACKOFF_FIELDS: FieldSpecs = {
  initial_ms: { type: 'int', min: 10, max: 600_000, default: 500 },
  max_ms: { type: 'int', min: 10, max: 3_600_000, default: 30_000 },
};

export const BACKOFF_KEY: KeyDoc = { key: 'backoff', default: '{initial_ms: 500, max_ms: 30000}', doc: 'Reconnect delays: doubled from initial_ms up to max_ms, with jitter.' };

export function parseBackoff(backoff: unknown, path: string, issues: ConfigIssue[]): BackoffConfig {
  const isObject = typeof backoff === 'object' && backoff !== null && !Array.isArray(backoff);
  const parsed = isObject ? parseFields(backoff as Record<string, unknown>, BACKOFF_FIELDS) : { values: {}, problems: [{ key: '', message: 'must be an object {initial_ms, max_ms}' }] };
  for (const p of parsed.problems) issues.push({ path: `${path}.backoff${p.key ? '.' + p.key : ''}`, message: withHint(p, Object.keys(BACKOFF_FIELDS)) });
  const values = { initial_ms: parsed.values.initial_ms as number, max_ms: parsed.values.max_ms as number };
  if (values.max_ms < values.initial_ms) issues.push({ path: `${path}.backoff.max_ms`, message: `must be at least backoff.initial_ms (${values.initial_ms})` });
  return values;
}

export function backoffOptions(cfg: { backoff: BackoffConfig }): BackoffOptions {
  return { initialMs: cfg.backoff.initial_ms, maxMs: cfg.backoff.max_ms };
}

/** parseFields over `rest`, every problem pushed under `path` with a hint for a misspelt key. */
export function parseTransportFields(rest: Record<string, unknown>, fields: FieldSpecs, otherKeys: readonly KeyDoc[], path: string, issues: ConfigIssue[]) {
  const parsed = parseFields(rest, fields);
  const allowed = ['type', ...otherKeys.map((k) => k.key), ...Object.keys(fields)];
  for (const p of parsed.problems) issues.push({ path: `${path}.${p.key}`, message: withHint(p, allowed) });
  return parsed.values;
}

function withHint(problem: FieldProblem, allowed: string[]): string {
  return problem.message.startsWith('unknown key') ? problem.message.replace('unknown key', `unknown key${suggestionFor(problem.key, allowed)}`) : problem.message;
}

/** The settings of a serial port, shared by Modbus RTU buses and line-protocol ports. */
export const SERIAL_PORT_FIELDS: FieldSpecs = {
  baud_rate: { type: 'int', min: 300, max: 4_000_000, default: 9600 },
  data_bits: { type: 'int', min: 7, max: 8, default: 8 },
  parity: { type: 'enum', values: ['none', 'even', 'odd'], default: 'none' },
  stop_bits: { type: 'int', min: 1, max: 2, default: 1 },
};

export const SERIAL_PATH_KEY: KeyDoc = { key: 'path', required: true, doc: 'Absolute path of the serial device, e.g. /dev/ttyUSB0 (see `gatehouse ports`).' };

export function checkSerialPath(devicePath: unknown, path: string, issues: ConfigIssue[]): void {
  if (typeof devicePath !== 'string' || !devicePath.startsWith('/')) {
    issues.push({ path: `${path}.path`, message: `must be the absolute path of a serial device (e.g. /dev/ttyUSB0), got ${JSON.stringify(devicePath)}` });
  }
}

export interface SerialPortConfig {
  path: string;
  baud_rate: number;
  data_bits: 7 | 8;
  parity: 'none' | 'even' | 'odd';
  stop_bits: 1 | 2;
}

export function serialPortOptions(cfg: SerialPortConfig) {
  return { path: cfg.path, baudRate: cfg.baud_rate, dataBits: cfg.data_bits, parity: cfg.parity, stopBits: cfg.stop_bits };
}

/** `/dev/ttyUSB0 9600 8N1` */
export function describeSerialPort(cfg: SerialPortConfig): string {
  return `${cfg.path} ${cfg.baud_rate} ${cfg.data_bits}${cfg.parity[0].toUpperCase()}${cfg.stop_bits}`;
}
