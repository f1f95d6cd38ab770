// A command's arguments, parsed against its options in the table (src/cli/index.ts).
import { parseArgs, type ParseArgsConfig } from 'node:util';
import type { CommandSpec, OptionSpec } from './index.js';

/** A repeatable option (`multiple`) gives every value it was given, in order. */
export type OptionValues = Record<string, string | boolean | string[] | undefined>;

export type ParsedArguments =
  /** `operands`: the arguments that are not options, for commands that declare operands. */
  | { action: 'run'; values: OptionValues; operands: string[] }
  | { action: 'help' }
  /** One line saying what is wrong, without the command's name. */
  | { action: 'error'; message: string };

export const HELP_OPTION: OptionSpec = { type: 'boolean', short: 'h', description: 'this help' };

/** `--watch` alone becomes `--watch=2`, `--watch 5` stays, for options with an optionalValue. */
function expandOptionalValues(options: Record<string, OptionSpec>, args: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    out.push(arg);
    if (arg === '--') {
      out.push(...args.slice(i + 1));
      break;
    }
    const name = Object.keys(options).find((n) => arg === `--${n}` || (options[n].short !== undefined && arg === `-${options[n].short}`));
    const fallback = name === undefined ? undefined : options[name].optionalValue;
    if (fallback === undefined) continue;
    const next = args[i + 1];
    if (next === undefined || next.startsWith('-')) out[out.length - 1] = `--${name}=${fallback}`;
  }
  return out;
}

/** Edits (insert, delete, change, swap of neighbours) from a to b: the optimal string alignment distance. */
function distance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
}

/** The name among `names` nearest to `typed`, when it is close enough to be a typo. */
export function nearest(typed: string, names: string[]): string | undefined {
  let best: { name: string; d: number } | undefined;
  for (const name of names) {
    const d = distance(typed, name);
    if (!best || d < best.d) best = { name, d };
  }
  return best && best.d <= Math.max(1, Math.floor(typed.length / 3)) ? best.name : undefined;
}

function describeError(err: unknown, options: Record<string, OptionSpec>): string {
  const { code, message } = err as { code?: string; message: string };
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
    const typed = /'([^']+)'/.exec(message)?.[1] ?? message;
    const near = typed.startsWith('--') ? nearest(typed.slice(2).split('=')[0], Object.keys(options)) : undefined;
    return `unknown option ${typed}${near ? ` (did you mean --${near}?)` : ''}`;
  }
  if (code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') return `unexpected argument ${/'([^']*)'/.exec(message)?.[1] ?? message}: this command takes only options`;
  // "Option '--url' argument is ambiguous.\nDid you forget ...": the first line says it.
  return message.split('\n')[0].replace(/\.$/, '');
}

export function optionUsage(name: string, option: OptionSpec): string {
  if (option.type === 'boolean') return `--${name}`;
  const value = option.value ?? 'VALUE';
  if (option.multiple) return `--${name} ${value} ...`;
  return option.optionalValue !== undefined ? `--${name} [${value}]` : `--${name} ${value}`;
}

/** Parses `args` against the command's options; `--help` or `-h` anywhere asks for help, even next to a mistake. */
export function parseArguments(spec: Pick<CommandSpec, 'options' | 'operands'>, args: string[]): ParsedArguments {
  const options = { ...spec.options, help: HELP_OPTION };
  const config: NonNullable<ParseArgsConfig['options']> = {};
  for (const [name, o] of Object.entries(options)) {
    config[name] = { type: o.type, ...(o.short === undefined ? {} : { short: o.short }), ...(o.multiple ? { multiple: true } : {}) };
  }
  let values: OptionValues;
  let operands: string[];
  try {
    const parsed = parseArgs({ args: expandOptionalValues(options, args), options: config, strict: true, allowPositionals: spec.operands !== undefined });
    values = parsed.values as OptionValues;
    operands = parsed.positionals;
  } catch (err) {
    if (args.includes('--help') || args.includes('-h')) return { action: 'help' };
    return { action: 'error', message: describeError(err, spec.options) };
  }
  if (values.help) return { action: 'help' };
  for (const [name, option] of Object.entries(spec.options)) {
    if (option.required && values[name] === undefined) return { action: 'error', message: `${optionUsage(name, option)} is required` };
  }
  return { action: 'run', values, operands };
}
