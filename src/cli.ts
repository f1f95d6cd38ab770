#!/usr/bin/env node
// The `gatehouse` command.
import { parseArgs } from 'node:util';
import { commands } from './cli/index.js';

const USAGE = `gatehouse: building-control gateway (gates, turnstiles, cameras) with an embedded MQTT broker

usage: gatehouse <command> [options]

commands:
  run --config FILE [--data-dir DIR] [--stop-timeout-ms MS]
                                       run the gateway (SIGHUP reloads the config, SIGTERM stops it cleanly)
  demo [--data-dir DIR] [--port N] [--seed N]
                                       the gateway on the demo site with simulated gates, turnstile and camera
  check --config FILE                  validate a config and list the devices it would run
  passwd                               hash a password (from stdin or the terminal) for the config
  journal --data-dir DIR [--since T] [--until T] [--type T] [--device ID] [--limit N] [--json]
                                       print the audit journal (T: 2026-11-23T10:00, an epoch ms, or 15m / 2h / 7d ago)
  outbox --data-dir DIR [--json]       the cloud outbox: depth, bytes, oldest age, drops (gateway running or not)
  status [--url URL | --config FILE] [--json] [--timeout MS]
                                       one-screen summary of a running gateway (exit 0 healthy, 1 unhealthy, 3 unreachable)
  ports                                list the machine's serial ports (for modbus-rtu transports)
  simulate [--port N] [--seed N]       only the Modbus TCP site simulator of the demo, for integrators
  version                              print the version
`;

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === 'help' || name === '--help' || name === '-h') {
    process.stdout.write(USAGE);
    return name ? 0 : 2;
  }
  const command = Object.hasOwn(commands, name) ? commands[name] : undefined;
  if (!command) {
    process.stderr.write(`gatehouse: unknown command ${JSON.stringify(name)}\n\n${USAGE}`);
    return 2;
  }
  let values: Record<string, string | boolean | undefined>;
  try {
    values = parseArgs({ args: rest, options: command.options, strict: true, allowPositionals: false }).values as typeof values;
  } catch (err) {
    process.stderr.write(`gatehouse ${name}: ${(err as Error).message}\n`);
    return 2;
  }
  return (await command.run(values)) ?? 0;
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
