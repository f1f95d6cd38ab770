// Modbus exception responses as DeviceErrors, shared by every Modbus transport (TCP and RTU).
import { DeviceError } from '../driver-api.js';

/** Modbus Application Protocol V1.1b3 section 7, "MODBUS Exception Codes". */
const EXCEPTION_NAMES: Record<number, string> = {
  1: 'illegal function',
  2: 'illegal data address',
  3: 'illegal data value',
  4: 'server device failure',
  5: 'acknowledge',
  6: 'server device busy',
  8: 'memory parity error',
  10: 'gateway path unavailable',
  11: 'gateway target device failed to respond',
};

/** The device answered with a Modbus exception response; exceptionCode is the code it sent. */
export class ModbusExceptionError extends DeviceError {
  constructor(
    readonly exceptionCode: number,
    what: string,
    options?: { cause?: unknown },
  ) {
    const name = EXCEPTION_NAMES[exceptionCode] ?? 'unknown exception';
    // An exception response means the device did not perform the request.
    super('device_error', `Modbus exception ${exceptionCode} (${name}) ${what}`, { ...options, notApplied: true });
    this.name = 'ModbusExceptionError';
  }
}

/** The exception code modbus-serial attached to an error, if the error is an exception response. */
export function modbusExceptionCode(err: unknown): number | undefined {
  const code = (err as { modbusCode?: unknown } | null)?.modbusCode;
  return typeof code === 'number' ? code : undefined;
}
