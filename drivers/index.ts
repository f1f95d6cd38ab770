// Every driver gatehouse ships, by name.
import type { DriverDefinition } from '../src/driver-api.js';
import { modbusDriver } from './modbus/index.js';
import { serialLineDriver } from './serial-line/index.js';
import { onvifDriver } from './onvif/index.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- each driver has its own options type
export const drivers: Record<string, DriverDefinition<any>> = {
  [modbusDriver.name]: modbusDriver,
  [serialLineDriver.name]: serialLineDriver,
  [onvifDriver.name]: onvifDriver,
};

export function getDriver(name: string): DriverDefinition<any> | undefined {
  return Object.hasOwn(drivers, name) ? drivers[name] : undefined;
}
