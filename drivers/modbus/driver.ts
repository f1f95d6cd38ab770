// A device on Modbus: named outputs are coils or holding registers, named inputs are any table.
import {
  DeviceError,
  type DriverContext,
  type DriverInstance,
  type ModbusAccess,
  type Readings,
  type RequestOptions, isAccessOf } from '../../src/driver-api.js';
import type { ModbusOptions } from './options.js';
import type { OutputPoint } from './points.js';
import { planReads, type PlannedRead } from './read-plan.js';

export class ModbusDriverInstance implements DriverInstance {
  readonly outputs: readonly string[];
  readonly inputs: readonly string[];
  private readonly modbus: ModbusAccess;
  private readonly unit: number;
  private readonly outputPoints: ReadonlyMap<string, OutputPoint>;
  private readonly plan: readonly PlannedRead[];

  constructor(ctx: DriverContext<ModbusOptions>) {
    const transport = ctx.transport;
    if (!isAccessOf<ModbusAccess>(transport, 'modbus')) {
      throw new Error(`device ${ctx.deviceId}: the modbus driver needs a Modbus transport, got ${transport.kind}`);
    }
    this.modbus = transport;
    this.unit = ctx.options.unit;
    this.outputPoints = new Map(Object.entries(ctx.options.outputs));
    this.outputs = Object.keys(ctx.options.outputs);
    this.inputs = Object.keys(ctx.options.inputs);
    this.plan = planReads(ctx.options);
  }

  async write(output: string, on: boolean, opts: RequestOptions): Promise<void> {
    const point = this.outputPoints.get(output);
    if (point === undefined) {
      throw new DeviceError('device_error', `no output "${output}" configured; outputs: ${this.outputs.join(', ') || 'none'}`);
    }
    if (point.table === 'coil') {
      await this.modbus.writeCoil(this.unit, point.address, on, opts);
    } else {
      await this.modbus.writeRegister(this.unit, point.address, on ? point.on : point.off, opts);
    }
  }

  /** One request per planned span, one after another; the first failure fails the whole read. */
  async read(opts: RequestOptions): Promise<Readings> {
    const readings: Readings = {};
    for (const span of this.plan) {
      const values = await this.fetch(span, opts);
      for (const point of span.points) readings[point.name] = point.decode(values[point.offset]);
    }
    return readings;
  }

  private fetch(span: PlannedRead, opts: RequestOptions): Promise<(boolean | number)[]> {
    const { unit } = this;
    switch (span.table) {
      case 'coil':
        return this.modbus.readCoils(unit, span.address, span.count, opts);
      case 'discrete_input':
        return this.modbus.readDiscreteInputs(unit, span.address, span.count, opts);
      case 'holding_register':
        return this.modbus.readHoldingRegisters(unit, span.address, span.count, opts);
      case 'input_register':
        return this.modbus.readInputRegisters(unit, span.address, span.count, opts);
    }
  }
}
