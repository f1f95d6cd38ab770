// Help text generated from the command table: `gatehouse --help` and `gatehouse <command> --help`.
import { HELP_OPTION, optionUsage } from './arguments.js';
import type { CommandSpec, OptionSpec } from './index.js';

const WIDTH = 100;

/** Words of `text` in lines of at most WIDTH characters, each after `indent` (the first after `first`). */
function wrap(text: string, indent: string, first = indent): string {
  const lines: string[] = [];
  let line = first;
  let empty = true;
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (!empty && line.length + 1 + word.length > WIDTH) {
      lines.push(line);
      line = indent;
      empty = true;
    }
    line += (empty ? '' : ' ') + word;
    empty = false;
  }
  lines.push(line);
  return lines.join('\n');
}

/** `gatehouse run --config FILE [options]`: the required options, then [options] when there are others. */
export function usageLine(name: string, spec: CommandSpec): string {
  const required = Object.entries(spec.options).filter(([, o]) => o.required);
  const optional = Object.keys(spec.options).length > required.length;
  return ['gatehouse', name, ...(spec.operands ? [spec.operands] : []), ...required.map(([n, o]) => optionUsage(n, o)), ...(optional ? ['[options]'] : [])].join(' ');
}

function optionLines(name: string, option: OptionSpec, column: number): string {
  const flag = `${option.short ? `-${option.short}, ` : '    '}${optionUsage(name, option)}`;
  const indent = ' '.repeat(column);
  const description = `${option.description}${option.required ? ' (required)' : ''}`;
  const head = wrap(description, indent, `  ${flag}`.padEnd(column - 1) + ' ');
  return option.default === undefined ? head : `${head}\n${wrap(`default: ${option.default}`, indent, indent)}`;
}

export function commandHelp(name: string, spec: CommandSpec): string {
  const options: [string, OptionSpec][] = [...Object.entries(spec.options), ['help', HELP_OPTION]];
  const column = Math.max(...options.map(([n, o]) => optionUsage(n, o).length)) + 10;
  const parts = [`gatehouse ${name}: ${spec.summary}`, `usage: ${usageLine(name, spec)}`];
  if (spec.description) parts.push(wrap(spec.description, ''));
  parts.push(['options:', ...options.map(([n, o]) => optionLines(n, o, column))].join('\n'));
  return parts.join('\n\n') + '\n';
}

export function overview(table: Record<string, CommandSpec>): string {
  const names = Object.keys(table);
  const column = Math.max(...names.map((n) => n.length)) + 4;
  const list = names.map((n) => wrap(table[n].summary, ' '.repeat(column), `  ${n.padEnd(column - 3)} `));
  return [
    'gatehouse: building-control gateway (gates, turnstiles, cameras) with an embedded MQTT broker',
    ['usage: gatehouse <command> [options]', '       gatehouse <command> --help   the command\'s options and their defaults', '       gatehouse help <command>     the same', '       gatehouse --version'].join('\n'),
    ['commands:', ...list].join('\n'),
  ].join('\n\n') + '\n';
}
