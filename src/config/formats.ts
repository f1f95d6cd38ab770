// Strict convict formats. convict's own ones are lenient in ways that open doors: its Boolean takes
// every string but "false" as true (so `enabled: no`, `off`, `0` or an empty environment variable
// turned anonymous access on), and its port/nat/int formats parseInt strings ("80abc" is 80).
// Here a string from the file or the environment converts only when it is exactly the spelling
// of a value; anything else stays a string and is refused by the validator, naming the key and the
// value (convict adds both to the message).
import convict from 'convict';

/** The only spellings of a boolean, in the file and in the environment. */
export const BOOLEAN_SPELLINGS = ['true', 'false'] as const;

const DECIMAL = /^(0|[1-9][0-9]*)$/;

/** A whole decimal number written as digits only ("1000"); anything else is left for the validator to refuse. */
export function strictInteger(text: string): number | string {
  return DECIMAL.test(text) ? Number(text) : text;
}

export function strictBoolean(text: string): boolean | string {
  if (text === 'true') return true;
  if (text === 'false') return false;
  return text;
}

function shown(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value) : String(value);
}

const registered = new Set<string>();

function addOnce(format: convict.Format & { name: string }): string {
  if (!registered.has(format.name)) {
    registered.add(format.name);
    convict.addFormat(format);
  }
  return format.name;
}

/** `true` or `false` (YAML booleans, or exactly those words from the environment). */
export const BOOLEAN = addOnce({
  name: 'strict-boolean',
  validate(value: unknown) {
    if (typeof value !== 'boolean') throw new Error(`must be true or false, got ${shown(value)}`);
  },
  coerce: strictBoolean,
});

/** An integer in [min, max]; from the environment only as plain digits. */
export function integer(min: number, max: number): string {
  return addOnce({
    name: `integer ${min}..${max}`,
    validate(value: unknown) {
      if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
        throw new Error(`must be an integer from ${min} to ${max}, got ${shown(value)}`);
      }
    },
    coerce: strictInteger,
  });
}

/** A TCP port; 0 picks a free one. */
export const PORT = integer(0, 65_535);
/** A whole number of at least 1. */
export const POSITIVE_INT = addOnce({
  name: 'strict-positive-int',
  validate(value: unknown) {
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) throw new Error(`must be a positive integer, got ${shown(value)}`);
  },
  coerce: strictInteger,
});
/** A whole number of at least 0. */
export const NATURAL = addOnce({
  name: 'strict-natural',
  validate(value: unknown) {
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) throw new Error(`must be an integer of at least 0, got ${shown(value)}`);
  },
  coerce: strictInteger,
});
