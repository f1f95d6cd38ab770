#!/usr/bin/env node
// The `gatehouse` command: finds the command in the table, parses its options, and only then
// imports its code (src/cli/index.ts).
import { nearest, parseArguments } from './cli/arguments.js';
import { commandHelp, overview } from './cli/help.js';
import { commands, type CommandSpec } from './cli/index.js';

function find(name: string): CommandSpec | undefined {
  return Object.hasOwn(commands, name) ? commands[name] : undefined;
}

function unknownCommand(name: string): number {
  const near = nearest(name, Object.keys(commands));
  process.stderr.write(`gatehouse: unknown command ${JSON.stringify(name)}${near ? ` (did you mean ${near}?)` : ''}\n\n${overview(commands)}`);
  return 2;
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined) {
    process.stderr.write(overview(commands));
    return 2;
  }
  if (name === '--help' || name === '-h') {
    process.stdout.write(overview(commands));
    return 0;
  }
  if (name === 'help') {
    if (rest.length === 0) {
      process.stdout.write(overview(commands));
      return 0;
    }
    const spec = find(rest[0]);
    if (!spec) return unknownCommand(rest[0]);
    process.stdout.write(commandHelp(rest[0], spec));
    return 0;
  }
  const spec = name === '--version' || name === '-V' ? commands.version : find(name);
  if (!spec) return unknownCommand(name);
  const label = spec === commands.version ? 'version' : name;
  const parsed = parseArguments(spec, rest);
  if (parsed.action === 'help') {
    process.stdout.write(commandHelp(label, spec));
    return 0;
  }
  if (parsed.action === 'error') {
    process.stderr.write(`gatehouse ${label}: ${parsed.message}\n(gatehouse ${label} --help lists the options)\n`);
    return 2;
  }
  const command = await spec.load();
  return (await command.run(parsed.values, parsed.operands)) ?? 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code !== undefined) process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`gatehouse: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 1;
  },
);
