// A Modbus TCP link: one socket to one device (or gateway), shared by every unit behind it,
// reconnecting with backoff. Requests take exclusive turns, so one is on the wire at a time.
import { connect as netConnect, type Socket } from 'node:net';
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

export { ModbusExceptionError } from './modbus-errors.js';

export interface ModbusTcpLinkConfig {
  host: string;
  port: number;
  /** Per request, and for establishing the TCP connection. */
  timeoutMs: number;
  backoff: { initialMs: number; maxMs: number };
}

type Client = ModbusClient;

interface Connection {
  socket: Socket;
  client: Client;
}

// Keeps a dead peer that never sent FIN/RST (power cut, cable pulled) from looking connected forever.
const KEEPALIVE_MS = 10_000;

export class ModbusTcpLink extends ModbusRequests {
  private readonly queue = new ExclusiveQueue();
  private readonly reconnect: ReconnectLoop;
  private conn: Connection | null = null;
  private connecting: Socket | null = null;
  /** Every socket not yet closed, with a promise of its 'close' event (the handle is released then). */
  private readonly open = new Map<Socket, Promise<void>>();

  constructor(
    readonly name: string,
    private readonly cfg: ModbusTcpLinkConfig,
    private readonly log: DriverLogger,
  ) {
    super();
    this.reconnect = new ReconnectLoop(cfg.backoff, log, {
      up: 'modbus link up',
      upAgain: 'modbus link up again',
      failed: 'modbus link cannot connect; retrying with backoff',
      failedAgain: 'modbus link reconnect failed',
      lost: 'modbus link down; reconnecting with backoff',
    }, () => this.attemptConnect());
  }

  get connected(): boolean {
    return this.conn !== null;
  }

  /** Starts connecting in the background and returns at once; an unreachable device is not an error. */
  async start(): Promise<void> {
    if (this.reconnect.running) return;
    this.reconnect.start();
  }

  /** Stops reconnecting, closes the socket and fails queued requests with 'offline'. Emits no 'down'. */
  async stop(): Promise<void> {
    this.reconnect.stop();
    if (this.connecting !== null) {
      this.connecting.destroy();
      this.connecting = null;
    }
    const conn = this.conn;
    this.conn = null;
    this.queue.clear(new DeviceError('offline', `modbus link ${this.name} stopped`));
    if (conn !== null) destroyClient(conn);
    await Promise.all(this.open.values());
  }

  /** One exclusive turn: set the unit id and send the request in the same step. */
  protected request<T>(unit: number, what: string, opts: RequestOptions, send: (c: Client) => Promise<T>): Promise<T> {
    if (this.conn === null) return Promise.reject(this.offline(what));
    return this.queue.run(async (revoked) => {
      const conn = this.conn;
      if (conn === null) throw this.offline(what);
      conn.client.setID(unit);
      const reply = send(conn.client);
      // If the link drops mid-request modbus-serial may settle this later, or never; nobody awaits it then.
      reply.catch(() => {});
      try {
        return await raceRevoked(reply, revoked);
      } catch (err) {
        throw this.toDeviceError(err, unit, what);
      }
    }, opts);
  }

  private offline(what: string): DeviceError {
    return new DeviceError('offline', `modbus link ${this.name} (${this.cfg.host}:${this.cfg.port}) is not connected; ${what}`, { notApplied: true });
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
    return new DeviceError('device_error', `bad reply ${where}: ${e.message ?? String(err)}`, { cause: err });
  }

  private attemptConnect(): void {
    const socket = netConnect({ host: this.cfg.host, port: this.cfg.port });
    this.connecting = socket;
    this.open.set(socket, new Promise((resolve) => socket.once('close', () => resolve())));
    let lastError: Error | null = null;
    socket.setTimeout(this.cfg.timeoutMs, () => {
      socket.destroy(new Error(`connect timed out after ${this.cfg.timeoutMs} ms`));
    });
    socket.on('error', (err) => {
      lastError = err;
    });
    socket.once('connect', () => {
      socket.setTimeout(0);
      if (this.connecting === socket) this.establish(socket);
      else socket.destroy(); // stopped meanwhile
    });
    socket.once('close', () => {
      this.open.delete(socket);
      if (this.conn?.socket === socket) {
        this.lost(lastError);
      } else if (this.connecting === socket) {
        // Never established: refused, timed out, or could not attach.
        this.connecting = null;
        this.reconnect.failed({ link: this.name, host: this.cfg.host, port: this.cfg.port, err: lastError?.message });
      }
      // Otherwise a socket stop() already let go of: nothing to do.
    });
  }

  private establish(socket: Socket): void {
    // modbus-serial sets TCP_NODELAY itself only on sockets it connects; this one is ours.
    socket.setNoDelay(true);
    socket.setKeepAlive(true, KEEPALIVE_MS);
    const client = new ModbusRTU.default();
    // TcpPort reports socket trouble through 'close'; this only guards against an unhandled 'error'.
    client.on('error', () => {});
    // linkTCP on an open socket completes synchronously; its transaction ids start at 1 per socket.
    let linkError: unknown = null;
    client.linkTCP(socket, { port: this.cfg.port }, (err: unknown) => {
      linkError = err ?? null;
    });
    if (linkError !== null) {
      this.log.warn({ link: this.name, err: linkError }, 'modbus link could not attach to its socket');
      socket.destroy();
      return;
    }
    // The timeout is set after linking: set before, modbus-serial would also make it a socket idle timeout.
    client.setTimeout(this.cfg.timeoutMs);
    this.connecting = null;
    this.conn = { socket, client };
    this.reconnect.up({ link: this.name, host: this.cfg.host, port: this.cfg.port });
    this.emit('up');
  }

  private lost(cause: Error | null): void {
    const conn = this.conn as Connection;
    this.conn = null;
    destroyClient(conn);
    this.queue.clear(new DeviceError('offline', `modbus link ${this.name} went down`, { cause: cause ?? undefined }));
    this.reconnect.lost(
      { link: this.name, host: this.cfg.host, port: this.cfg.port, err: cause?.message ?? 'closed by the device' },
      () => this.emit('down'),
    );
  }
}

/** Cancels modbus-serial's pending transaction timers and destroys the socket. */
function destroyClient(conn: Connection): void {
  conn.client.destroy(() => {});
  conn.socket.destroy();
}
