import { Gateway } from '../gateway.js';
import type { GatehouseConfig } from '../config.js';
import type { Logger } from '../log.js';

/** Run the gateway until SIGINT or SIGTERM, then stop it cleanly. A second signal exits at once. */
export async function runUntilSignalled(config: Readonly<GatehouseConfig>, log: Logger, onStarted?: (g: Gateway) => void, beforeStop?: () => Promise<void>): Promise<number> {
  const gateway = new Gateway(config, log);
  let stopping = false;
  const stopped = new Promise<number>((resolve) => {
    const onSignal = (signal: NodeJS.Signals) => {
      if (stopping) {
        log.warn({ signal }, 'second signal: exiting without a clean stop');
        process.exit(130);
      }
      stopping = true;
      log.info({ signal }, 'stopping');
      gateway
        .stop()
        .then(() => beforeStop?.())
        .then(
          () => resolve(0),
          (err) => {
            log.error({ err }, 'error while stopping');
            resolve(1);
          },
        );
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
  try {
    await gateway.start();
  } catch (err) {
    log.fatal({ err }, 'gatehouse could not start');
    if ((err as { code?: string }).code === 'BROKER_LISTEN_FAILED') {
      process.stderr.write(`gatehouse: ${(err as Error).message}\n  choose another port: broker.port in the config, GATEHOUSE_BROKER_PORT, or --port for the demo (0 picks a free one)\n`);
    }
    // The database and the uplink's files: the message says what to do.
    if (/^(STORE|UPLINK)_/.test(String((err as { code?: string }).code))) process.stderr.write(`gatehouse: ${(err as Error).message}\n`);
    await gateway.stop().catch(() => undefined);
    await beforeStop?.();
    return 1;
  }
  onStarted?.(gateway);
  return stopped;
}
