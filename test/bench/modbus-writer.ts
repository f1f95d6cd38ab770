// The Modbus half of the floor: a plain modbus-serial TCP client writing a coil, nothing in between.
import { performance } from 'node:perf_hooks';
import ModbusRTU from 'modbus-serial';

const REQUEST_TIMEOUT_MS = 2_000;

type Client = InstanceType<typeof ModbusRTU.default>;

export class ModbusWriter {
  private client: Client | undefined;

  constructor(private readonly opts: { port: number; unit: number }) {}

  async start(): Promise<void> {
    const client = new ModbusRTU.default();
    client.on('error', () => {});
    // modbus-serial sets TCP_NODELAY on sockets it connects itself.
    await client.connectTCP('127.0.0.1', { port: this.opts.port });
    client.setID(this.opts.unit);
    client.setTimeout(REQUEST_TIMEOUT_MS);
    this.client = client;
  }

  /** Writes `value` to coil `address` (Modbus function 05, Write Single Coil) and returns the round trip in ms. */
  async writeCoil(address: number, value: boolean): Promise<number> {
    const client = this.client;
    if (!client) throw new Error('ModbusWriter not started');
    const startedAt = performance.now();
    await client.writeCoil(address, value);
    return performance.now() - startedAt;
  }

  async stop(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    if (client) await new Promise<void>((resolve) => client.close(() => resolve()));
  }
}
