// A line-protocol serial port: text lines in both directions, one request on the wire at a time
// (commands ahead of polls); lines that answer no request go to unsolicited listeners.
// A port that vanishes is reopened with backoff.
import { EventEmitter } from 'node:events';
import { createRequire } from 'node:module';
import type { SerialPort } from 'serialport';
import {
  DeviceError,
  type DriverLogger,
  type LineRequestOptions,
  type SerialLineAccess,
} from '../driver-api.js';
import { ExclusiveQueue } from './exclusive-queue.js';
import { raceRevoked } from './race-revoked.js';
import { ReconnectLoop } from './reconnect-loop.js';

export type LineEncoding = 'ascii' | 'latin1' | 'utf8';

export interface SerialLineConfig {
  path: string;
  baudRate: number;
  dataBits: 7 | 8;
  parity: 'none' | 'even' | 'odd';
  stopBits: 1 | 2;
  /** Ends a line in both directions. */
  terminator: string;
  encoding: LineEncoding;
  /** Per request: no accepted reply line within this is a timeout. */
  replyTimeoutMs: number;
  /** Longest line (in characters, terminator excluded) kept; longer ones are discarded. */
  maxLineLength: number;
  backoff: { initialMs: number; maxMs: number };
}

const CLOSE_WAIT_MS = 2_000;

interface Waiter {
  isReply(line: string): boolean;
  resolve(line: string): void;
}

export class SerialLinePort extends EventEmitter implements SerialLineAccess {
  readonly kind = 'serial-line' as const;
  private readonly queue = new ExclusiveQueue();
  private readonly reconnect: ReconnectLoop;
  private readonly unsolicited = new Set<(line: string) => void>();
  private port: SerialPort | null = null;
  private pending = '';
  /** True while the rest of an over-long line is being skipped up to its terminator. */
  private skipping = false;
  private waiter: Waiter | null = null;
  /** Counts of lines dropped, for diagnostics. */
  readonly dropped = { overlong: 0 };

  constructor(
    readonly name: string,
    private readonly cfg: SerialLineConfig,
    private readonly log: DriverLogger,
  ) {
    super();
    this.reconnect = new ReconnectLoop(cfg.backoff, log, {
      up: 'serial line open',
      upAgain: 'serial line open again',
      failed: 'serial line cannot open its port; retrying with backoff',
      failedAgain: 'serial line reopen failed',
      lost: 'serial line port closed; reopening with backoff',
    }, () => this.attemptOpen());
  }

  get connected(): boolean {
    return this.port !== null;
  }

  async start(): Promise<void> {
    if (this.reconnect.running) return;
    this.reconnect.start();
  }

  async stop(): Promise<void> {
    this.reconnect.stop();
    const port = this.port;
    this.port = null;
    this.queue.clear(new DeviceError('offline', `serial line ${this.name} stopped`));
    if (port !== null) await closePort(port);
    await this.reconnect.attempting;
  }

  onUnsolicited(listener: (line: string) => void): () => void {
    this.unsolicited.add(listener);
    return () => this.unsolicited.delete(listener);
  }

  request(line: string, isReply: (line: string) => boolean, opts: LineRequestOptions): Promise<string> {
    if (this.port === null) return Promise.reject(this.offline(line));
    return this.queue.run(async (revoked) => {
      const port = this.port;
      if (port === null) throw this.offline(line);
      this.discardPartial();
      const timeoutMs = opts.timeoutMs ?? this.cfg.replyTimeoutMs;
      let timer: NodeJS.Timeout | undefined;
      const reply = new Promise<string>((resolve, reject) => {
        this.waiter = { isReply, resolve };
        timer = setTimeout(() => {
          reject(new DeviceError('timeout', `no reply within ${timeoutMs} ms on ${this.name} to ${JSON.stringify(line)}`));
        }, timeoutMs);
      });
      port.write(Buffer.from(line + this.cfg.terminator, this.cfg.encoding));
      try {
        return await raceRevoked(reply, revoked);
      } finally {
        clearTimeout(timer);
        this.waiter = null;
      }
    }, opts);
  }

  private offline(line: string): DeviceError {
    return new DeviceError('offline', `serial line ${this.name} (${this.cfg.path}) is not open; sending ${JSON.stringify(line)}`, { notApplied: true });
  }

  /** Splits received text into lines at the terminator; an over-long line is dropped whole. */
  private received(chunk: Buffer): void {
    this.pending += chunk.toString(this.cfg.encoding);
    const { terminator, maxLineLength } = this.cfg;
    for (;;) {
      const end = this.pending.indexOf(terminator);
      if (end === -1) break;
      const line = this.pending.slice(0, end);
      this.pending = this.pending.slice(end + terminator.length);
      if (this.skipping) {
        this.skipping = false; // the end of a line already discarded
        continue;
      }
      if (line.length > maxLineLength) {
        this.discardOverlong(line.length);
        continue;
      }
      this.dispatch(line);
    }
    // No terminator yet and already too long: drop it now, skip the rest up to its terminator.
    // The last characters are kept in case they are the start of a split terminator.
    if (this.pending.length > maxLineLength + terminator.length) {
      if (!this.skipping) this.discardOverlong(this.pending.length);
      this.skipping = true;
      const keep = terminator.length - 1;
      this.pending = keep > 0 ? this.pending.slice(-keep) : '';
    }
  }

  /**
   * Drops an unterminated remainder (a reply cut short after an earlier timeout) before a new
   * request, so it cannot be glued to the front of the next reply.
   */
  private discardPartial(): void {
    if (this.pending.length === 0 && !this.skipping) return;
    this.log.debug({ line: this.name, length: this.pending.length }, 'serial line: partial line discarded');
    this.pending = '';
    this.skipping = false;
  }

  private discardOverlong(length: number): void {
    this.dropped.overlong++;
    this.log.warn({ line: this.name, length, max: this.cfg.maxLineLength }, 'serial line: over-long line discarded');
  }

  private dispatch(line: string): void {
    const waiter = this.waiter;
    if (waiter !== null && waiter.isReply(line)) {
      this.waiter = null;
      waiter.resolve(line);
      return;
    }
    for (const listener of this.unsolicited) listener(line);
  }

  private async attemptOpen(): Promise<void> {
    const port = new (serialportPackage().SerialPort)({
      path: this.cfg.path,
      baudRate: this.cfg.baudRate,
      dataBits: this.cfg.dataBits,
      parity: this.cfg.parity,
      stopBits: this.cfg.stopBits,
      autoOpen: false,
    });
    port.on('error', () => {});
    try {
      await new Promise<void>((resolve, reject) => port.open((err) => (err ? reject(err) : resolve())));
    } catch (err) {
      this.reconnect.failed({ line: this.name, path: this.cfg.path, err: (err as Error).message });
      return;
    }
    if (!this.reconnect.running) {
      await closePort(port);
      return;
    }
    this.pending = '';
    this.skipping = false;
    port.on('data', (chunk: Buffer) => {
      if (this.port === port) this.received(chunk);
    });
    port.on('close', () => {
      if (this.port === port) this.lost(port);
    });
    this.port = port;
    this.reconnect.up({ line: this.name, path: this.cfg.path, baudRate: this.cfg.baudRate });
    this.emit('up');
  }

  private lost(port: SerialPort): void {
    this.port = null;
    void closePort(port);
    this.queue.clear(new DeviceError('offline', `serial line ${this.name} (${this.cfg.path}) went away`));
    this.reconnect.lost({ line: this.name, path: this.cfg.path }, () => this.emit('down'));
  }
}

async function closePort(port: SerialPort): Promise<void> {
  if (!port.isOpen) return;
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, CLOSE_WAIT_MS);
    port.close(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}

let serialport: typeof import('serialport') | undefined;

/**
 * serialport, required when a line is first opened rather than on import. (modbus-serial requires
 * it too, when it is itself loaded: a site with Modbus transports has it in memory regardless.)
 */
function serialportPackage(): typeof import('serialport') {
  serialport ??= createRequire(import.meta.url)('serialport') as typeof import('serialport');
  return serialport;
}
