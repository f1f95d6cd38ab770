import { pino, type Logger } from 'pino';
import { createRequire } from 'node:module';
import type PinoPretty from 'pino-pretty';

export type { Logger } from 'pino';

/** JSON lines on stdout for journald and log shippers; human-readable when a person is watching. */
export function createLogger(level: string, opts: { pretty?: boolean } = {}): Logger {
  const usePretty = opts.pretty ?? process.stdout.isTTY === true;
  const base = { level, base: { pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime };
  if (!usePretty) return pino(base);
  // pino-pretty only when used: a service's stdout is journald, never a TTY, and never loads it.
  const pretty = createRequire(import.meta.url)('pino-pretty') as typeof PinoPretty;
  return pino(base, pretty({ colorize: true, singleLine: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' }));
}
