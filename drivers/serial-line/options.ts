// The serial-line driver's `options` block: lines to send, reply patterns, poll and event patterns.
// Every regex is compiled here, so a bad one is a config error naming its key path.
import type { ConfigIssue, PointSpec } from '../../src/driver-api.js';

export interface LineOutput {
  on: string;
  off: string;
  ok: RegExp;
  error?: RegExp;
}

export interface LinePoll {
  send: string;
  reply: RegExp;
  /** Per input: group text -> boolean. Groups without a mapping that are all digits become numbers. */
  values: Record<string, Record<string, boolean>>;
}

export interface LineEvent {
  pattern: RegExp;
  event: string;
}

export interface SerialLineOptions {
  outputs: Record<string, LineOutput>;
  poll?: LinePoll;
  events: LineEvent[];
}

const TOP_LEVEL_KEYS = ['outputs', 'poll', 'events'];
const EVENT_NAME = /^[a-z][a-z0-9_]{0,63}$/;

export function keyPath(base: string, key: string): string {
  return /^[A-Za-z_][A-Za-z0-9_-]*$/.test(key) ? `${base}.${key}` : `${base}[${JSON.stringify(key)}]`;
}

function isMapping(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function unknownKeys(source: Record<string, unknown>, known: readonly string[], path: string, issues: ConfigIssue[]): void {
  for (const key of Object.keys(source)) {
    if (!known.includes(key)) issues.push({ path: keyPath(path, key), message: `unknown key; expected ${known.join(', ')}` });
  }
}

function line(raw: unknown, path: string, issues: ConfigIssue[]): string {
  if (typeof raw === 'string' && raw.length > 0) return raw;
  issues.push({ path, message: `must be a non-empty line of text, got ${JSON.stringify(raw)}` });
  return '';
}

function regex(raw: unknown, path: string, issues: ConfigIssue[]): RegExp | undefined {
  if (typeof raw !== 'string' || raw.length === 0) {
    issues.push({ path, message: `must be a regular expression, got ${JSON.stringify(raw)}` });
    return undefined;
  }
  try {
    return new RegExp(raw);
  } catch (err) {
    issues.push({ path, message: `not a valid regular expression: ${(err as Error).message}` });
    return undefined;
  }
}

function groupNames(re: RegExp): string[] {
  // Named groups as written in the source; escaped "\\(?<" is rare enough in line protocols to ignore.
  const names: string[] = [];
  for (const m of re.source.matchAll(/\(\?<([A-Za-z_$][\w$]*)>/g)) names.push(m[1]);
  return names;
}

export function parseSerialLineOptions(
  raw: unknown,
  points: PointSpec,
  path: string,
): { options?: SerialLineOptions; issues: ConfigIssue[] } {
  const issues: ConfigIssue[] = [];
  const source = raw ?? {};
  if (!isMapping(source)) {
    issues.push({ path, message: `must be a mapping with outputs, poll and events, got ${JSON.stringify(raw)}` });
    return { issues };
  }
  unknownKeys(source, TOP_LEVEL_KEYS, path, issues);
  const outputs = parseOutputs(source.outputs, points, keyPath(path, 'outputs'), issues);
  const poll = source.poll === undefined ? undefined : parsePoll(source.poll, points, keyPath(path, 'poll'), issues);
  if (poll === undefined) {
    for (const name of points.inputs.required) {
      issues.push({ path: keyPath(path, 'poll'), message: `input "${name}" is required by this device kind: configure a poll whose reply has a group (?<${name}>...)` });
    }
  }
  const events = parseEvents(source.events, keyPath(path, 'events'), issues);
  if (issues.length > 0) return { issues };
  return { options: { outputs, poll, events }, issues };
}

function parseOutputs(raw: unknown, points: PointSpec, path: string, issues: ConfigIssue[]): Record<string, LineOutput> {
  const result: Record<string, LineOutput> = {};
  const source = raw ?? {};
  if (!isMapping(source)) {
    issues.push({ path, message: `must be a mapping of output name to {on, off, ok, error}, got ${JSON.stringify(raw)}` });
    return result;
  }
  const known = [...points.outputs.required, ...points.outputs.optional];
  for (const [name, value] of Object.entries(source)) {
    const p = keyPath(path, name);
    if (!known.includes(name)) {
      issues.push({ path: p, message: `unknown output "${name}"; this device kind has outputs ${known.join(', ') || 'none'}` });
      continue;
    }
    if (!isMapping(value)) {
      issues.push({ path: p, message: 'must be a mapping {on, off, ok, error}' });
      continue;
    }
    unknownKeys(value, ['on', 'off', 'ok', 'error'], p, issues);
    const on = line(value.on, keyPath(p, 'on'), issues);
    const off = line(value.off, keyPath(p, 'off'), issues);
    const ok = regex(value.ok, keyPath(p, 'ok'), issues);
    const error = value.error === undefined ? undefined : regex(value.error, keyPath(p, 'error'), issues);
    if (ok !== undefined) result[name] = { on, off, ok, error };
  }
  for (const name of points.outputs.required) {
    if (!Object.hasOwn(source, name)) issues.push({ path: keyPath(path, name), message: `output "${name}" is required by this device kind but not configured` });
  }
  return result;
}

function parsePoll(raw: unknown, points: PointSpec, path: string, issues: ConfigIssue[]): LinePoll | undefined {
  if (!isMapping(raw)) {
    issues.push({ path, message: 'must be a mapping {send, reply, values}' });
    return undefined;
  }
  unknownKeys(raw, ['send', 'reply', 'values'], path, issues);
  const send = line(raw.send, keyPath(path, 'send'), issues);
  const reply = regex(raw.reply, keyPath(path, 'reply'), issues);
  const known = [...points.inputs.required, ...points.inputs.optional];
  const values: Record<string, Record<string, boolean>> = {};
  if (reply !== undefined) {
    const groups = groupNames(reply);
    for (const name of groups) {
      if (!known.includes(name)) {
        issues.push({ path: keyPath(path, 'reply'), message: `group "${name}" is not an input of this device kind (inputs: ${known.join(', ') || 'none'})` });
      }
    }
    for (const name of points.inputs.required) {
      if (!groups.includes(name)) issues.push({ path: keyPath(path, 'reply'), message: `input "${name}" is required by this device kind: add a group (?<${name}>...)` });
    }
  }
  const rawValues = raw.values ?? {};
  if (!isMapping(rawValues)) {
    issues.push({ path: keyPath(path, 'values'), message: 'must be a mapping of input name to {text: true|false}' });
  } else {
    for (const [name, mapping] of Object.entries(rawValues)) {
      const p = keyPath(keyPath(path, 'values'), name);
      if (!known.includes(name)) issues.push({ path: p, message: `unknown input "${name}"; this device kind has inputs ${known.join(', ') || 'none'}` });
      if (!isMapping(mapping) || !Object.values(mapping).every((v) => typeof v === 'boolean')) {
        issues.push({ path: p, message: 'must map group text to true or false' });
        continue;
      }
      values[name] = mapping as Record<string, boolean>;
    }
  }
  if (reply === undefined) return undefined;
  return { send, reply, values };
}

function parseEvents(raw: unknown, path: string, issues: ConfigIssue[]): LineEvent[] {
  if (raw === undefined) return [];
  if (!Array.isArray(raw)) {
    issues.push({ path, message: 'must be a list of {pattern, event}' });
    return [];
  }
  const events: LineEvent[] = [];
  raw.forEach((entry, i) => {
    const p = `${path}[${i}]`;
    if (!isMapping(entry)) return issues.push({ path: p, message: 'must be a mapping {pattern, event}' });
    unknownKeys(entry, ['pattern', 'event'], p, issues);
    const pattern = regex(entry.pattern, keyPath(p, 'pattern'), issues);
    const event = entry.event;
    if (typeof event !== 'string' || !EVENT_NAME.test(event)) {
      issues.push({ path: keyPath(p, 'event'), message: `must be an event name of a-z 0-9 _ starting with a letter, got ${JSON.stringify(event)}` });
      return;
    }
    if (pattern !== undefined) events.push({ pattern, event });
  });
  return events;
}
