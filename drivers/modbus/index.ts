// The `modbus` driver: named points on coils, discrete inputs and registers of one Modbus unit.
import type { DriverDefinition } from '../../src/driver-api.js';
import { ModbusDriverInstance } from './driver.js';
import { parseModbusOptions, type ModbusOptions } from './options.js';

export type { ModbusOptions } from './options.js';
export type { InputPoint, OutputPoint } from './points.js';

export const modbusDriver: DriverDefinition<ModbusOptions> = {
  name: 'modbus',
  transports: ['modbus-tcp', 'modbus-rtu'],
  parseOptions: parseModbusOptions,
  create: (ctx) => new ModbusDriverInstance(ctx),
};

export default modbusDriver;
