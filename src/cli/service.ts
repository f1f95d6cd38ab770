// The gateway as a long-running service: start, tell systemd (sd_notify), keep its watchdog fed,
// reload on SIGHUP, stop cleanly on SIGINT or SIGTERM within a bound, die loudly on a fatal error.
import { Gateway } from '../gateway.js';
import type { GatehouseConfig, LoadResult } from '../config.js';
import type { Logger } from '../log.js';
import { reloadConfiguration } from '../service/reload-config.js';
import { EXIT_SECOND_SIGNAL, EXIT_STOP_TIMEOUT, exitNow, installFatalHandlers } from '../service/fatal.js';
import { SdNotify } from '../service/sd-notify.js';
import { statusLine } from '../service/status-line.js';
import { Watchdog } from '../service/watchdog.js';

/** Default bound on a clean stop; systemd's TimeoutStopSec (60 s in systemd/gatehouse.service) must be longer. */
export const DEFAULT_STOP_TIMEOUT_MS = 30_000;
/** How often STATUS= is refreshed (sent only when it changed). */
const STATUS_INTERVAL_MS = 5000;

export interface ServiceOptions {
  /** Re-reads and validates the configuration for SIGHUP; without it SIGHUP is logged and ignored. */
  reloadConfig?: () => LoadResult;
  /**
   * What SIGHUP means: `reload` for a service (systemd's ExecReload), `stop` for a program run in a
   * terminal, whose SIGHUP says the terminal is gone (the demo must not stay behind holding its port).
   */
  hangup?: 'reload' | 'stop';
  /** A stop that takes longer logs one line and exits with 124. */
  stopTimeoutMs?: number;
  /** The config files the running config was read from (the console's config view shows them). */
  configFiles?: string[];
}

/**
 * Run the gateway until SIGINT or SIGTERM, then stop it cleanly; resolves with the exit code.
 * A second signal exits at once (130); a stop longer than the bound exits 124.
 */
export async function runUntilSignalled(
  config: Readonly<GatehouseConfig>,
  log: Logger,
  onStarted?: (g: Gateway) => void,
  beforeStop?: () => Promise<void>,
  options: ServiceOptions = {},
): Promise<number> {
  installFatalHandlers(log);
  const notify = SdNotify.fromEnvironment(log.child({ component: 'sd-notify' }));
  await notify.start();
  const watchdogUsec = notify.enabled ? notify.watchdogUsec : undefined;
  const watchdog =
    watchdogUsec === undefined
      ? undefined
      : new Watchdog({ intervalMs: watchdogUsec / 2000, maxLagMs: watchdogUsec / 2000, ping: () => notify.watchdog(), log: log.child({ component: 'watchdog' }) });
  watchdog?.start();
  notify.status('starting');

  const gateway = new Gateway(config, log, undefined, { ...(options.reloadConfig ? { readConfig: options.reloadConfig } : {}), configFiles: options.configFiles ?? [] });
  const stopTimeoutMs = options.stopTimeoutMs ?? DEFAULT_STOP_TIMEOUT_MS;
  let phase: 'starting' | 'up' | 'stopping' = 'starting';
  let statusTimer: NodeJS.Timeout | undefined;
  const showStatus = () => {
    if (phase === 'up') notify.status(statusLine(gateway.statusFigures()));
  };

  // A stop waits for a start under way to end (a stop that overlapped it would close the database
  // under it); the start's own failure path and a signal share the one stop.
  let startSettled: Promise<unknown> = Promise.resolve();
  let stopSequence: Promise<void> | undefined;
  const stopOnce = () =>
    (stopSequence ??= startSettled.then(() => gateway.stop((step) => notify.status(`stopping: ${step}`))).then(() => beforeStop?.()));

  const stopped = new Promise<number>((resolve) => {
    const onSignal = (signal: NodeJS.Signals) => {
      if (phase === 'stopping') {
        log.warn({ signal }, 'second signal: exiting without a clean stop');
        exitNow(log, EXIT_SECOND_SIGNAL);
      }
      phase = 'stopping';
      log.info({ signal, stop_timeout_ms: stopTimeoutMs }, 'stopping');
      notify.stopping('stopping');
      // Not unref'd: this timer is what ends a stop that hangs.
      const deadline = setTimeout(() => {
        log.error({ stop_timeout_ms: stopTimeoutMs }, `stop did not finish within ${stopTimeoutMs} ms; exiting without a clean stop`);
        exitNow(log, EXIT_STOP_TIMEOUT);
      }, stopTimeoutMs);
      stopOnce()
        .then(
          () => resolve(0),
          (err) => {
            log.error({ err }, 'error while stopping');
            resolve(1);
          },
        )
        .finally(() => clearTimeout(deadline));
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    if (options.hangup === 'stop') process.on('SIGHUP', onSignal);
  });

  // SIGHUP's default action would end the process: it is always handled.
  let reloads = Promise.resolve();
  let reloadWaiting = false;
  const reload = async () => {
    reloadWaiting = false;
    if (phase !== 'up') return;
    notify.reloading('reloading configuration');
    await reloadConfiguration(gateway, options.reloadConfig!, log, 'SIGHUP');
    if (phase === 'up') notify.ready(statusLine(gateway.statusFigures()));
  };
  const onHangup = () => {
    if (options.hangup === 'stop') return;
    if (!options.reloadConfig) return log.warn({}, 'SIGHUP: nothing to reload (no config file); ignored');
    // Signals during a reload fold into one more reload after it; one while starting waits for the start.
    if (reloadWaiting) return;
    reloadWaiting = true;
    if (phase === 'up') reloads = reloads.then(reload);
  };
  process.on('SIGHUP', onHangup);
  const cleanUp = () => {
    clearInterval(statusTimer);
    watchdog?.stop();
    notify.close();
    process.off('SIGHUP', onHangup);
  };

  const starting = gateway.start();
  startSettled = starting.catch(() => undefined);
  try {
    await starting;
  } catch (err) {
    log.fatal({ err }, 'gatehouse could not start');
    if ((err as { code?: string }).code === 'BROKER_LISTEN_FAILED') {
      process.stderr.write(`gatehouse: ${(err as Error).message}\n  choose another port: broker.port in the config, GATEHOUSE_BROKER_PORT, or --port for the demo (0 picks a free one)\n`);
    }
    // The database, the uplink's files and an aedes of another version: the message says what to do.
    if (/^(STORE_|UPLINK_|BROKER_AEDES_INCOMPATIBLE$)/.test(String((err as { code?: string }).code))) process.stderr.write(`gatehouse: ${(err as Error).message}\n`);
    notify.status('could not start; see the log');
    await stopOnce().catch(() => undefined);
    cleanUp();
    return 1;
  }
  if (phase === 'starting') {
    phase = 'up';
    // The broker listens, every device had its safe-state attempt and the uplink started.
    notify.ready(statusLine(gateway.statusFigures()));
    statusTimer = setInterval(showStatus, STATUS_INTERVAL_MS);
    statusTimer.unref();
    // A SIGHUP that came while starting is served now.
    if (reloadWaiting) reloads = reloads.then(reload);
  }
  onStarted?.(gateway);
  const code = await stopped;
  await reloads;
  cleanUp();
  return code;
}
