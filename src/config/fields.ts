// A tiny declarative validator for flat objects of settings and command arguments.
// Every problem is reported at once, each naming its key.

export type FieldSpec =
  | { type: 'int'; min: number; max: number; default?: number }
  | { type: 'number'; min: number; max: number; default?: number }
  | { type: 'enum'; values: readonly string[]; default?: string }
  /** Non-empty text of at most `maxLength` characters, without control characters. */
  | { type: 'string'; maxLength: number; default?: string };

export type FieldSpecs = Record<string, FieldSpec>;
export type FieldValues = Record<string, number | string>;

export interface FieldProblem {
  key: string;
  message: string;
}

function checkField(key: string, spec: FieldSpec, value: unknown): FieldProblem | null {
  if (spec.type === 'int') {
    if (typeof value !== 'number' || !Number.isInteger(value)) {
      return { key, message: `must be an integer, got ${JSON.stringify(value)}` };
    }
    if (value < spec.min || value > spec.max) {
      return { key, message: `must be between ${spec.min} and ${spec.max}, got ${value}` };
    }
    return null;
  }
  if (spec.type === 'number') {
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      return { key, message: `must be a number, got ${JSON.stringify(value)}` };
    }
    if (value < spec.min || value > spec.max) {
      return { key, message: `must be between ${spec.min} and ${spec.max}, got ${value}` };
    }
    return null;
  }
  if (spec.type === 'string') {
    // eslint-disable-next-line no-control-regex -- control characters are what is refused
    if (typeof value !== 'string' || value.length === 0 || value.length > spec.maxLength || /[\u0000-\u001f\u007f]/.test(value)) {
      return { key, message: `must be text of 1 to ${spec.maxLength} characters without control characters, got ${JSON.stringify(value)}` };
    }
    return null;
  }
  if (typeof value !== 'string' || !spec.values.includes(value)) {
    return { key, message: `must be one of ${spec.values.map((v) => JSON.stringify(v)).join(', ')}, got ${JSON.stringify(value)}` };
  }
  return null;
}

/**
 * Validate `input` against `specs`: unknown keys and bad values are problems; absent keys take
 * their default (or stay absent when the spec has none and `required` does not list them).
 */
export function parseFields(
  input: Record<string, unknown>,
  specs: FieldSpecs,
  required: readonly string[] = [],
): { values: FieldValues; problems: FieldProblem[] } {
  const values: FieldValues = {};
  const problems: FieldProblem[] = [];
  for (const key of Object.keys(input)) {
    if (!Object.hasOwn(specs, key)) problems.push({ key, message: `unknown key (allowed: ${Object.keys(specs).join(', ') || 'none'})` });
  }
  for (const [key, spec] of Object.entries(specs)) {
    const value = input[key];
    if (value === undefined) {
      if (spec.default !== undefined) values[key] = spec.default;
      else if (required.includes(key)) problems.push({ key, message: 'is required' });
      continue;
    }
    const problem = checkField(key, spec, value);
    if (problem) problems.push(problem);
    else values[key] = value as number | string;
  }
  return { values, problems };
}
