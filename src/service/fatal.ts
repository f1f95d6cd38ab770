// Last-resort handlers: an uncaught exception or an unhandled rejection leaves the gateway in a
// state nobody planned for. It logs one fatal line and exits non-zero, so that systemd
// (Restart=always) starts a fresh process, which drives every output to its safe state again.

export interface FatalLogger {
  fatal(obj: object, msg?: string): void;
  flush?(): void;
}

/** Exit codes of `gatehouse run` beyond 0 (clean stop), 1 (could not start, or error while stopping) and 2 (usage). */
export const EXIT_FATAL = 70; // EX_SOFTWARE in sysexits.h: an internal error
export const EXIT_STOP_TIMEOUT = 124; // as timeout(1): the stop did not finish in time
export const EXIT_SECOND_SIGNAL = 130; // 128 + SIGINT: stop cut short by a second signal

/** Writes out what the logger still buffers, then exits with `code`. */
export function exitNow(log: FatalLogger, code: number): never {
  try {
    log.flush?.();
  } catch {
    // nothing more can be reported
  }
  process.exit(code);
}

let installed = false;

/** Installs the process-wide handlers once. */
export function installFatalHandlers(log: FatalLogger): void {
  if (installed) return;
  installed = true;
  let dying = false;
  const die = (what: string) => (err: unknown) => {
    // One line: a second failure while exiting says nothing new.
    if (dying) return;
    dying = true;
    log.fatal({ err }, `${what}; exiting`);
    exitNow(log, EXIT_FATAL);
  };
  process.on('uncaughtException', die('uncaught exception'));
  process.on('unhandledRejection', die('unhandled promise rejection'));
}
