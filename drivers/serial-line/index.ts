// The `serial-line` driver: devices that speak text lines over a serial port (turnstile and
// barrier controllers). Binary protocols would be a driver of their own over the same transport.
import type { DriverDefinition } from '../../src/driver-api.js';
import { SerialLineDriverInstance } from './driver.js';
import { parseSerialLineOptions, type SerialLineOptions } from './options.js';

export type { SerialLineOptions } from './options.js';

export const serialLineDriver: DriverDefinition<SerialLineOptions> = {
  name: 'serial-line',
  transports: ['serial-line'],
  parseOptions: parseSerialLineOptions,
  create: (ctx) => new SerialLineDriverInstance(ctx),
};

export default serialLineDriver;
