// The Modbus functions every link offers, on top of one exclusive request step that each link
// (TCP, RTU) implements its own way. Function codes: Modbus Application Protocol V1.1b3 6.1-6.6.
import { EventEmitter } from 'node:events';
import ModbusRTU from 'modbus-serial';
import type { ModbusAccess, RequestOptions } from '../driver-api.js';

export type ModbusClient = InstanceType<typeof ModbusRTU.default>;

export abstract class ModbusRequests extends EventEmitter implements ModbusAccess {
  readonly kind = 'modbus' as const;
  abstract readonly name: string;

  /** One exclusive turn on the link: set `unit` and run `send` as one step. */
  protected abstract request<T>(unit: number, what: string, opts: RequestOptions, send: (c: ModbusClient) => Promise<T>): Promise<T>;

  readCoils(unit: number, address: number, count: number, opts: RequestOptions): Promise<boolean[]> {
    return this.request(unit, `reading coils ${address}+${count}`, opts, async (c) =>
      (await c.readCoils(address, count)).data.slice(0, count),
    );
  }

  readDiscreteInputs(unit: number, address: number, count: number, opts: RequestOptions): Promise<boolean[]> {
    return this.request(unit, `reading discrete inputs ${address}+${count}`, opts, async (c) =>
      (await c.readDiscreteInputs(address, count)).data.slice(0, count),
    );
  }

  readHoldingRegisters(unit: number, address: number, count: number, opts: RequestOptions): Promise<number[]> {
    return this.request(unit, `reading holding registers ${address}+${count}`, opts, async (c) =>
      (await c.readHoldingRegisters(address, count)).data,
    );
  }

  readInputRegisters(unit: number, address: number, count: number, opts: RequestOptions): Promise<number[]> {
    return this.request(unit, `reading input registers ${address}+${count}`, opts, async (c) =>
      (await c.readInputRegisters(address, count)).data,
    );
  }

  writeCoil(unit: number, address: number, value: boolean, opts: RequestOptions): Promise<void> {
    return this.request(unit, `writing coil ${address}`, opts, async (c) => {
      await c.writeCoil(address, value);
    });
  }

  writeRegister(unit: number, address: number, value: number, opts: RequestOptions): Promise<void> {
    return this.request(unit, `writing holding register ${address}`, opts, async (c) => {
      await c.writeRegister(address, value);
    });
  }
}
