// A real Modbus device for tests: test/peers/modbus_device.py (Debian pymodbus) run as a child
// process, driven over its JSON-lines stdin/stdout protocol.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';
import { after, before } from 'node:test';
import { fileURLToPath } from 'node:url';
import { requirePymodbus, SYSTEM_PYTHON } from './require-tool.js';

export type ModbusTable = 'co' | 'di' | 'hr' | 'ir';

export interface WriteRecord {
  unit: number;
  table: 'co' | 'hr';
  address: number;
  /** What the device stored: booleans for coils, integers for holding registers. */
  values: (boolean | number)[];
  /** Device clock, epoch milliseconds. */
  t: number;
}

export interface ModbusDeviceOptions {
  /** Unit ids served, each with its own datastore (default [1]). */
  units?: number[];
  /** TCP port on 127.0.0.1 (default 0: the OS picks). */
  port?: number;
  /** Serve Modbus RTU on this serial device (e.g. a socat pty) instead of TCP. */
  rtuPath?: string;
  /** RTU baud rate (default 9600). */
  baud?: number;
}

export interface ModbusDevice {
  /** TCP port (0 for RTU). */
  port: number;
  /** Every write record seen so far, in order, across restarts. */
  writes: WriteRecord[];
  /** Resolves with the first record, past or future, that matches. */
  waitForWrite(pred: (w: WriteRecord) => boolean, timeoutMs?: number): Promise<WriteRecord>;
  /** Sets values without producing a write record. */
  set(unit: number, table: ModbusTable, address: number, values: (boolean | number)[]): Promise<void>;
  get(unit: number, table: ModbusTable, address: number, count: number): Promise<(boolean | number)[]>;
  /** A muted unit sends no response at all, so clients time out. Restart unmutes. */
  mute(unit: number, on: boolean): Promise<void>;
  /** Resolves once a request to muted `unit` has arrived (and gone unanswered) after this call. */
  waitForDropped(unit: number, timeoutMs?: number): Promise<void>;
  /** SIGTERM, await exit. */
  stop(): Promise<void>;
  /** SIGKILL, await exit: the device vanishes abruptly. */
  kill(): Promise<void>;
  /** Start again on the same port (or serial path) with the same units and a fresh datastore. */
  restart(): Promise<void>;
}

const SCRIPT = fileURLToPath(new URL('../peers/modbus_device.py', import.meta.url));
const DEFAULT_WAIT_MS = 5_000;
const COMMAND_TIMEOUT_MS = 5_000;
const START_TIMEOUT_MS = 15_000;
const STOP_GRACE_MS = 5_000;
const STDERR_KEEP_CHARS = 8_000;
const debug = Boolean(process.env.GATEHOUSE_TEST_DEBUG);

interface PendingCommand {
  resolve(reply: DeviceLine): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout;
}

interface DeviceLine {
  event: 'listening' | 'write' | 'dropped' | 'ok' | 'value' | 'error';
  id?: number | null;
  port?: number;
  path?: string;
  values?: (boolean | number)[];
  message?: string;
  unit?: number;
  table?: 'co' | 'hr';
  address?: number;
  t?: number;
}

interface WriteWaiter {
  pred(w: WriteRecord): boolean;
  resolve(w: WriteRecord): void;
}

class PymodbusDevice implements ModbusDevice {
  port = 0;
  readonly writes: WriteRecord[] = [];
  private child: ChildProcessWithoutNullStreams | null = null;
  private closed: Promise<void> = Promise.resolve();
  private stderrTail = '';
  private nextId = 1;
  private readonly pending = new Map<number, PendingCommand>();
  private readonly waiters = new Set<WriteWaiter>();
  private readonly dropWaiters = new Set<{ unit: number; resolve(): void }>();

  constructor(private readonly opts: ModbusDeviceOptions) {}

  async start(): Promise<void> {
    const units = this.opts.units ?? [1];
    const args = [SCRIPT, '--units', units.join(',')];
    if (this.opts.rtuPath !== undefined) {
      args.push('--rtu', this.opts.rtuPath, '--baud', String(this.opts.baud ?? 9600));
    } else {
      args.push('--port', String(this.port || this.opts.port || 0));
    }
    this.stderrTail = '';
    const child = spawn(SYSTEM_PYTHON, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    this.child = child;
    this.closed = new Promise((resolve) => child.once('close', () => resolve()));
    // The device exits on stdin EOF; an EPIPE after it died must not crash the test process.
    child.stdin.on('error', () => {});

    createInterface({ input: child.stderr }).on('line', (line) => {
      this.stderrTail = (this.stderrTail + line + '\n').slice(-STDERR_KEEP_CHARS);
      if (debug) process.stderr.write(`[modbus_device ${child.pid}] ${line}\n`);
    });

    const listening = new Promise<DeviceLine>((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`modbus_device did not listen within ${START_TIMEOUT_MS} ms; stderr:\n${this.stderrTail}`));
      }, START_TIMEOUT_MS);
      createInterface({ input: child.stdout }).on('line', (line) => {
        const msg = this.parseLine(line);
        if (msg?.event === 'listening') {
          clearTimeout(timer);
          resolve(msg);
        } else if (msg) {
          this.handleLine(msg);
        }
      });
      child.once('error', (err) => {
        clearTimeout(timer);
        reject(new Error(`could not run ${SYSTEM_PYTHON}: ${err.message}`));
      });
      child.once('close', (code, signal) => {
        clearTimeout(timer);
        // A no-op once listening resolved; otherwise the process died during start-up.
        reject(
          new Error(
            `modbus_device exited before listening (code ${code}, signal ${signal}); stderr:\n${this.stderrTail}`,
          ),
        );
        this.failPending(new Error(`modbus_device exited (code ${code}, signal ${signal})`));
      });
    });
    const ready = await listening;
    if (this.opts.rtuPath === undefined) this.port = ready.port ?? 0;
  }

  waitForWrite(pred: (w: WriteRecord) => boolean, timeoutMs = DEFAULT_WAIT_MS): Promise<WriteRecord> {
    const seen = this.writes.find(pred);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const waiter: WriteWaiter = {
        pred,
        resolve: (w) => {
          clearTimeout(timer);
          this.waiters.delete(waiter);
          resolve(w);
        },
      };
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        const recent = this.writes.slice(-10).map((w) => JSON.stringify(w)).join('\n  ');
        reject(new Error(`no matching Modbus write within ${timeoutMs} ms; last writes:\n  ${recent || '(none)'}`));
      }, timeoutMs);
      this.waiters.add(waiter);
    });
  }

  async set(unit: number, table: ModbusTable, address: number, values: (boolean | number)[]): Promise<void> {
    await this.command({ op: 'set', unit, table, address, values });
  }

  async get(unit: number, table: ModbusTable, address: number, count: number): Promise<(boolean | number)[]> {
    const reply = await this.command({ op: 'get', unit, table, address, count });
    return reply.values ?? [];
  }

  async mute(unit: number, on: boolean): Promise<void> {
    await this.command({ op: 'mute', unit, on });
  }

  waitForDropped(unit: number, timeoutMs = DEFAULT_WAIT_MS): Promise<void> {
    return new Promise((resolve, reject) => {
      const waiter = {
        unit,
        resolve: () => {
          clearTimeout(timer);
          this.dropWaiters.delete(waiter);
          resolve();
        },
      };
      const timer = setTimeout(() => {
        this.dropWaiters.delete(waiter);
        reject(new Error(`no request reached muted unit ${unit} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.dropWaiters.add(waiter);
    });
  }

  async stop(): Promise<void> {
    await this.terminate('SIGTERM');
  }

  async kill(): Promise<void> {
    await this.terminate('SIGKILL');
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }

  private async terminate(signal: 'SIGTERM' | 'SIGKILL'): Promise<void> {
    const child = this.child;
    if (child === null) return;
    if (child.exitCode === null && child.signalCode === null) {
      child.kill(signal);
      const grace = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
      await this.closed;
      clearTimeout(grace);
    }
    await this.closed;
    this.child = null;
  }

  private command(body: Record<string, unknown>): Promise<DeviceLine> {
    const child = this.child;
    if (child === null || child.exitCode !== null || child.signalCode !== null) {
      return Promise.reject(new Error(`modbus_device is not running (command ${JSON.stringify(body)})`));
    }
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`modbus_device did not answer ${JSON.stringify(body)} within ${COMMAND_TIMEOUT_MS} ms`));
      }, COMMAND_TIMEOUT_MS);
      this.pending.set(id, { resolve, reject, timer });
      child.stdin.write(JSON.stringify({ ...body, id }) + '\n');
    });
  }

  private parseLine(line: string): DeviceLine | null {
    try {
      return JSON.parse(line) as DeviceLine;
    } catch {
      process.stderr.write(`[modbus_device] unparsable stdout line: ${line}\n`);
      return null;
    }
  }

  private handleLine(msg: DeviceLine): void {
    if (msg.event === 'dropped') {
      for (const waiter of [...this.dropWaiters]) if (waiter.unit === msg.unit) waiter.resolve();
      return;
    }
    if (msg.event === 'write') {
      const record: WriteRecord = {
        unit: msg.unit as number,
        table: msg.table as 'co' | 'hr',
        address: msg.address as number,
        values: msg.values ?? [],
        t: msg.t as number,
      };
      this.writes.push(record);
      for (const waiter of [...this.waiters]) if (waiter.pred(record)) waiter.resolve(record);
      return;
    }
    const pending = typeof msg.id === 'number' ? this.pending.get(msg.id) : undefined;
    if (pending === undefined) return;
    this.pending.delete(msg.id as number);
    clearTimeout(pending.timer);
    if (msg.event === 'error') pending.reject(new Error(`modbus_device: ${msg.message}`));
    else pending.resolve(msg);
  }

  private failPending(err: Error): void {
    for (const [id, pending] of this.pending) {
      clearTimeout(pending.timer);
      pending.reject(err);
      this.pending.delete(id);
    }
  }
}

/**
 * Starts a Modbus TCP (or RTU) device on 127.0.0.1. Fails with the apt-get fix if pymodbus is
 * missing, and with the device's stderr if it exits before listening.
 */
export async function startModbusDevice(opts: ModbusDeviceOptions = {}): Promise<ModbusDevice> {
  requirePymodbus();
  const device = new PymodbusDevice(opts);
  await device.start();
  return device;
}

/**
 * One device for every test of a file (or of a describe block, called in its body): started
 * before the first test, stopped after the last. Usable as soon as the first test runs.
 */
export function sharedModbusDevice(opts: ModbusDeviceOptions = {}): ModbusDevice {
  const device = new PymodbusDevice(opts);
  before(() => {
    requirePymodbus();
    return device.start();
  });
  after(() => device.stop());
  return device;
}
