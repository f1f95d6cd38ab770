import { createLogger } from '../log.js';
import { SiteSimulator, type SimulatedDevice } from '../simulator/site-simulator.js';
import type { CliCommand } from './index.js';

/** The demo's simulated devices, for integrators who want the simulator alone. */
export const DEMO_DEVICES: SimulatedDevice[] = [
  { unit: 1, kind: 'gate', name: 'main-gate' },
  { unit: 2, kind: 'gate', name: 'garage-gate' },
  { unit: 3, kind: 'turnstile', name: 'lobby-turnstile' },
  { unit: 4, kind: 'barrier', name: 'garage-barrier' },
];

export const simulate: CliCommand = {
  async run(values) {
    const port = values.port === undefined ? 0 : Number(values.port);
    const seed = values.seed === undefined ? undefined : Number(values.seed);
    if (!Number.isInteger(port) || port < 0 || port > 65535) {
      process.stderr.write('gatehouse simulate: --port must be 0..65535\n');
      return 2;
    }
    const log = createLogger('debug');
    const simulator = new SiteSimulator({ host: (values.host as string | undefined) ?? '127.0.0.1', port, seed, devices: DEMO_DEVICES, log });
    const bound = await simulator.start();
    log.info({ ...bound, devices: DEMO_DEVICES }, 'Modbus TCP site simulator listening (gates: coil 0 unlock, DI 0 door; turnstile: coils 0/1 pass in/out, coil 2 free, IR 0/1 counters; barrier: coil 0 open, DI 0 loop, DI 1/2 arm open/closed)');
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
    await simulator.stop();
    return 0;
  },
};
