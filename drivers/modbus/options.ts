// The modbus driver's `options` block: validated whole, every problem reported with its key path.
import type { ConfigIssue, PointSpec } from '../../src/driver-api.js';
import {
  isMapping,
  keyPath,
  parseInputPoint,
  parseOutputPoint,
  type InputPoint,
  type OutputPoint,
} from './points.js';

export interface ModbusOptions {
  /** Modbus unit id (the MBAP unit identifier on TCP, the server address on RTU). */
  unit: number;
  outputs: Record<string, OutputPoint>;
  inputs: Record<string, InputPoint>;
}

const TOP_LEVEL_KEYS = ['unit', 'outputs', 'inputs'];
const DEFAULT_UNIT = 1;
const UNIT_MAX = 247; // Modbus over Serial Line V1.02 section 2.2: individual addresses 1..247, 0 broadcast

type Side = 'output' | 'input';

export function parseModbusOptions(
  raw: unknown,
  points: PointSpec,
  path: string,
): { options?: ModbusOptions; issues: ConfigIssue[] } {
  const issues: ConfigIssue[] = [];
  const source = raw ?? {};
  if (!isMapping(source)) {
    issues.push({ path, message: `must be a mapping with unit, outputs and inputs, got ${JSON.stringify(raw)}` });
    return { issues };
  }
  for (const key of Object.keys(source)) {
    if (!TOP_LEVEL_KEYS.includes(key)) {
      issues.push({ path: keyPath(path, key), message: `unknown key; expected ${TOP_LEVEL_KEYS.join(', ')}` });
    }
  }

  const unit = parseUnit(source.unit, keyPath(path, 'unit'), issues);
  const outputs = parsePoints('output', source.outputs, points.outputs, keyPath(path, 'outputs'), issues, parseOutputPoint);
  const inputs = parsePoints('input', source.inputs, points.inputs, keyPath(path, 'inputs'), issues, parseInputPoint);

  if (issues.length > 0) return { issues };
  return { options: { unit, outputs, inputs }, issues };
}

function parseUnit(raw: unknown, path: string, issues: ConfigIssue[]): number {
  if (raw === undefined) return DEFAULT_UNIT;
  if (typeof raw === 'number' && Number.isInteger(raw) && raw >= 0 && raw <= UNIT_MAX) return raw;
  issues.push({ path, message: `unit must be an integer 0..${UNIT_MAX}, got ${JSON.stringify(raw)}` });
  return DEFAULT_UNIT;
}

function parsePoints<P>(
  side: Side,
  raw: unknown,
  names: PointSpec['outputs'],
  path: string,
  issues: ConfigIssue[],
  parsePoint: (raw: unknown, path: string, issues: ConfigIssue[]) => P | undefined,
): Record<string, P> {
  const result: Record<string, P> = {};
  const source = raw ?? {};
  if (!isMapping(source)) {
    issues.push({ path, message: `must be a mapping of ${side} name to point, got ${JSON.stringify(raw)}` });
    return result;
  }
  const known = [...names.required, ...names.optional];
  for (const [name, value] of Object.entries(source)) {
    const pointPath = keyPath(path, name);
    if (!known.includes(name)) {
      const choice = known.length > 0 ? `this device kind has ${side}s ${known.join(', ')}` : `this device kind has no ${side}s`;
      issues.push({ path: pointPath, message: `unknown ${side} "${name}"; ${choice}` });
      continue;
    }
    const point = parsePoint(value, pointPath, issues);
    if (point !== undefined) result[name] = point;
  }
  for (const name of names.required) {
    if (!Object.hasOwn(source, name)) {
      issues.push({ path: keyPath(path, name), message: `${side} "${name}" is required by this device kind but not configured` });
    }
  }
  return result;
}
