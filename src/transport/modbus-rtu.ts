// A Modbus RTU bus: one serial port (an RS-485 line) shared by every unit on it. Requests take
// exclusive turns with the inter-frame gap between them; a port that vanishes is reopened with backoff.
import { setTimeout as sleep } from 'node:timers/promises';
import ModbusRTU from 'modbus-serial';
import {
  DeviceError,
  type DriverLogger,
  type RequestOptions,
} from '../driver-api.js';
import { ModbusRequests, type ModbusClient } from './modbus-requests.js';
import { ExclusiveQueue } from './exclusive-queue.js';
import { modbusExceptionCode, ModbusExceptionError } from './modbus-errors.js';
import { raceRevoked } from './race-revoked.js';
import { ReconnectLoop } from './reconnect-loop.js';

export type Parity = 'none' | 'even' | 'odd';

export interface ModbusRtuBusConfig {
  /** Serial device, e.g. /dev/ttyUSB0. */
  path: string;
  baudRate: number;
  dataBits: 7 | 8;
  parity: Parity;
  stopBits: 1 | 2;
  /** Per request: no complete reply within this is a timeout. */
  timeoutMs: number;
  /** Silence kept on the line after each exchange before the next request. */
  interFrameMs: number;
  backoff: { initialMs: number; maxMs: number };
}

type Client = ModbusClient;

/** How long stop() waits for the serial port to report itself closed. */
const CLOSE_WAIT_MS = 2_000;

/**
 * The t3.5 inter-frame delay of Modbus over Serial Line V1.02 section 2.5.1.1: 3.5 character
 * times (a character is start bit + data bits + parity bit + stop bits), fixed at 1.75 ms above
 * 19200 baud. Rounded up to whole milliseconds, the resolution of Node timers.
 */
export function defaultInterFrameMs(baudRate: number, dataBits: number, parity: Parity, stopBits: number): number {
  if (baudRate > 19_200) return Math.ceil(1.75);
  const bitsPerChar = 1 + dataBits + (parity === 'none' ? 0 : 1) + stopBits;
  return Math.ceil((3.5 * bitsPerChar * 1000) / baudRate);
}

export class ModbusRtuBus extends ModbusRequests {
  private readonly queue = new ExclusiveQueue();
  /** Its attempt in progress is the open stop() waits for, since a port opened meanwhile must be closed again. */
  private readonly reconnect: ReconnectLoop;
  private client: Client | null = null;

  constructor(
    readonly name: string,
    private readonly cfg: ModbusRtuBusConfig,
    private readonly log: DriverLogger,
  ) {
    super();
    this.reconnect = new ReconnectLoop(cfg.backoff, log, {
      up: 'modbus bus open',
      upAgain: 'modbus bus open again',
      failed: 'modbus bus cannot open its port; retrying with backoff',
      failedAgain: 'modbus bus reopen failed',
      lost: 'modbus bus port closed; reopening with backoff',
    }, () => this.attemptOpen());
  }

  get connected(): boolean {
    return this.client !== null;
  }

  /** Starts opening the port in the background and returns at once; a missing port is not an error. */
  async start(): Promise<void> {
    if (this.reconnect.running) return;
    this.reconnect.start();
  }

  /** Stops reopening, closes the port and fails queued requests with 'offline'. Emits no 'down'. */
  async stop(): Promise<void> {
    this.reconnect.stop();
    const client = this.client;
    this.client = null;
    this.queue.clear(new DeviceError('offline', `modbus bus ${this.name} stopped`));
    if (client !== null) await closeClient(client);
    await this.reconnect.attempting;
  }

  /** One exclusive turn: set the unit id and send the request in the same step, then keep the gap. */
  protected request<T>(unit: number, what: string, opts: RequestOptions, send: (c: Client) => Promise<T>): Promise<T> {
    if (this.client === null) return Promise.reject(this.offline(what));
    return this.queue.run(async (revoked) => {
      const client = this.client;
      if (client === null) throw this.offline(what);
      discardReceived(client);
      client.setID(unit);
      const reply = send(client);
      // If the port closes mid-request modbus-serial may settle this later, or never; nobody awaits it then.
      reply.catch(() => {});
      try {
        return await raceRevoked(reply, revoked);
      } catch (err) {
        throw this.toDeviceError(err, unit, what);
      } finally {
        // Modbus over Serial Line V1.02 section 2.5.1.1: frames are separated by at least t3.5 of silence.
        if (!revoked.aborted) await sleep(this.cfg.interFrameMs);
      }
    }, opts);
  }

  private offline(what: string): DeviceError {
    return new DeviceError('offline', `modbus bus ${this.name} (${this.cfg.path}) is not open; ${what}`, { notApplied: true });
  }

  private toDeviceError(err: unknown, unit: number, what: string): DeviceError {
    if (err instanceof DeviceError) return err;
    const e = err as { name?: string; message?: string };
    const where = `from unit ${unit} on ${this.name} ${what}`;
    const exceptionCode = modbusExceptionCode(err);
    if (exceptionCode !== undefined) return new ModbusExceptionError(exceptionCode, where, { cause: err });
    if (e.name === 'TransactionTimedOutError') {
      return new DeviceError('timeout', `no answer within ${this.cfg.timeoutMs} ms ${where}`, { cause: err });
    }
    if (e.name === 'PortNotOpenError') return new DeviceError('offline', this.offline(what).message, { cause: err, notApplied: true });
    // A reply with a wrong CRC, unit or length: the request may still have been carried out.
    return new DeviceError('device_error', `bad reply ${where}: ${e.message ?? String(err)}`, { cause: err });
  }

  private async attemptOpen(): Promise<void> {
    const client = new ModbusRTU.default();
    // Port trouble also arrives as 'close'; this only guards against an unhandled 'error'.
    client.on('error', () => {});
    try {
      await client.connectRTUBuffered(this.cfg.path, {
        baudRate: this.cfg.baudRate,
        dataBits: this.cfg.dataBits,
        parity: this.cfg.parity,
        stopBits: this.cfg.stopBits,
      });
    } catch (err) {
      this.reconnect.failed({ bus: this.name, path: this.cfg.path, err: (err as Error).message });
      return;
    }
    if (!this.reconnect.running) {
      await closeClient(client);
      return;
    }
    client.setTimeout(this.cfg.timeoutMs);
    client.on('close', () => {
      if (this.client === client) this.lost(client);
    });
    this.client = client;
    this.reconnect.up({ bus: this.name, path: this.cfg.path, baudRate: this.cfg.baudRate });
    this.emit('up');
  }

  private lost(client: Client): void {
    this.client = null;
    void closeClient(client);
    this.queue.clear(new DeviceError('offline', `modbus bus ${this.name} (${this.cfg.path}) went away`));
    this.reconnect.lost({ bus: this.name, path: this.cfg.path }, () => this.emit('down'));
  }
}

/**
 * Drops bytes left in modbus-serial's receive buffer (a late reply after a timeout, line noise),
 * so they cannot be taken for the start of the next reply. The buffer is RTUBufferedPort's own.
 */
function discardReceived(client: Client): void {
  const port = (client as unknown as { _port?: { _buffer?: Buffer } })._port;
  if (port !== undefined && port._buffer !== undefined) port._buffer = Buffer.alloc(0);
}

/** Cancels pending transaction timers and closes the port; resolves once closed (or after a bounded wait). */
async function closeClient(client: Client): Promise<void> {
  (client as unknown as { _cancelPendingTransactions?: () => void })._cancelPendingTransactions?.();
  if (!client.isOpen) return;
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, CLOSE_WAIT_MS);
    client.close(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}
