// Modbus hardware that is not configured yet, over the gateway's own code: the link is built by the
// transport definition (`modbus-tcp` or `modbus-rtu`), and reads and writes go through the modbus
// driver with points made up for the occasion, so the requests on the wire (their split into
// spans, the unit id, the t3.5 gap on a serial line, the timeouts) are those the gateway would send.
import modbusDriver from '../../drivers/modbus/index.js';
import type { InputPoint, ModbusOptions, OutputPoint } from '../../drivers/modbus/index.js';
import { DeviceError, type DriverLogger, type Readings } from '../driver-api.js';
import type { Transport } from '../transport/definition.js';
import { ModbusExceptionError } from '../transport/modbus-errors.js';
import { modbusRtu } from '../transport/modbus-rtu-definition.js';
import { modbusTcp } from '../transport/modbus-tcp-definition.js';
import type { ReadRequest, WriteRequest } from './modbus-requests.js';
import { describeModbusTarget, type ModbusTarget } from './modbus-target.js';

export interface ReadOutcome extends ReadRequest {
  /** The values from `address` on, in order: booleans for coils and discrete inputs, numbers for registers. */
  values?: (boolean | number)[];
  error?: ProbeError;
}

export interface ProbeError {
  /** The transport's code: offline, timeout or device_error. */
  code: string;
  message: string;
  /** A Modbus exception response: its code (Modbus Application Protocol V1.1b3 section 7). */
  exception?: number;
}

export interface ScanOutcome {
  unit: number;
  /** The unit sent a reply: a value, or an exception response (it is there, but refuses that request). */
  answered: boolean;
  value?: boolean | number;
  error?: ProbeError;
}

/** The link could not be opened: the port refused, the host unreachable, the serial device missing. */
export class ProbeConnectError extends Error {}

const PROBE_NAME = 'probe';
/**
 * Exceptions 10 (gateway path unavailable) and 11 (gateway target device failed to respond),
 * Modbus Application Protocol V1.1b3 section 7: a TCP-to-serial gateway answering for a unit that did not.
 */
const GATEWAY_EXCEPTIONS = new Set([10, 11]);

/** Collects the link's log lines; a warning before the link is up is the failed attempt. */
class ProbeLog implements DriverLogger {
  failure: Record<string, unknown> | undefined;
  onFailure: (() => void) | undefined;
  debug(): void {}
  info(): void {}
  error(): void {}
  warn(obj: object): void {
    this.failure ??= obj as Record<string, unknown>;
    this.onFailure?.();
  }
}

/** One open Modbus link for a probe session. */
export class ModbusProbe {
  private constructor(
    private readonly transport: Transport,
    readonly target: ModbusTarget,
  ) {}

  /** Opens the link (one attempt); ProbeConnectError says why it could not. */
  static async open(target: ModbusTarget): Promise<ModbusProbe> {
    const log = new ProbeLog();
    const transport = target.type === 'modbus-tcp' ? modbusTcp.create(PROBE_NAME, target, log) : modbusRtu.create(PROBE_NAME, target, log);
    const up = new Promise<void>((resolve, reject) => {
      transport.on('up', () => resolve());
      log.onFailure = () => reject(new ProbeConnectError(`cannot connect to ${describeModbusTarget(target)}: ${String(log.failure?.err ?? 'no reason given')}`));
    });
    await transport.start();
    try {
      await up;
    } catch (err) {
      await transport.stop();
      throw err;
    }
    return new ModbusProbe(transport, target);
  }

  close(): Promise<void> {
    return this.transport.stop();
  }

  /** Each request in turn, through the modbus driver; one failing does not stop the others. */
  async read(unit: number, requests: readonly ReadRequest[]): Promise<ReadOutcome[]> {
    const outcomes: ReadOutcome[] = [];
    for (const request of requests) {
      try {
        outcomes.push({ ...request, values: await this.readOne(unit, request) });
      } catch (err) {
        outcomes.push({ ...request, error: probeError(err) });
      }
    }
    return outcomes;
  }

  async write(unit: number, request: WriteRequest): Promise<void> {
    const name = 'probe';
    const point: OutputPoint =
      request.table === 'coil'
        ? { table: 'coil', address: request.address }
        : { table: 'holding_register', address: request.address, on: request.value, off: request.value === 0 ? 1 : 0 };
    // A coil is written as the value itself; a register output writes its `on` value, set to the value asked for.
    const on = request.table === 'coil' ? request.value : true;
    await this.driver(unit, {}, { [name]: point }).write(name, on, { priority: 'command' });
  }

  /** Reads holding register 0 of each unit; a reply, an exception too, means the unit is there (not a gateway's exception for it). */
  async scan(units: readonly number[], probe: ReadRequest = { table: 'holding_register', address: 0, count: 1 }): Promise<ScanOutcome[]> {
    const outcomes: ScanOutcome[] = [];
    for (const unit of units) {
      try {
        const [value] = await this.readOne(unit, probe);
        outcomes.push({ unit, answered: true, value });
      } catch (err) {
        const error = probeError(err);
        outcomes.push({ unit, answered: error.exception !== undefined && !GATEWAY_EXCEPTIONS.has(error.exception), error });
        // The link itself went away: the units after this one cannot answer either.
        if (error.code === 'offline') break;
      }
    }
    return outcomes;
  }

  private async readOne(unit: number, request: ReadRequest): Promise<(boolean | number)[]> {
    const inputs: Record<string, InputPoint> = {};
    for (let i = 0; i < request.count; i++) inputs[String(request.address + i)] = { table: request.table, address: request.address + i, invert: false };
    const readings: Readings = await this.driver(unit, inputs, {}).read({ priority: 'command' });
    return Array.from({ length: request.count }, (_, i) => readings[String(request.address + i)]);
  }

  private driver(unit: number, inputs: ModbusOptions['inputs'], outputs: ModbusOptions['outputs']) {
    return modbusDriver.create({ deviceId: PROBE_NAME, kind: PROBE_NAME, options: { unit, inputs, outputs }, transport: this.transport.access, log: new ProbeLog() });
  }
}

export function probeError(err: unknown): ProbeError {
  if (err instanceof ModbusExceptionError) return { code: err.code, message: err.message, exception: err.exceptionCode };
  if (err instanceof DeviceError) return { code: err.code, message: err.message };
  return { code: 'device_error', message: err instanceof Error ? err.message : String(err) };
}
