import type { ParseArgsConfig } from 'node:util';
import { check } from './check.js';
import { demo } from './demo.js';
import { journal } from './journal.js';
import { outbox } from './outbox.js';
import { passwd } from './passwd.js';
import { ports } from './ports.js';
import { run } from './run.js';
import { simulate } from './simulate.js';
import { status } from './status.js';
import { version } from './version.js';

export interface CliCommand {
  options: NonNullable<ParseArgsConfig['options']>;
  run(values: Record<string, string | boolean | undefined>): Promise<number | undefined>;
}

/** One file per command; this is the dispatcher's table. */
export const commands: Record<string, CliCommand> = { run, demo, check, passwd, journal, outbox, ports, simulate, status, version };
