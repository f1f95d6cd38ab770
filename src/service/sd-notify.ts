// The service manager notification protocol of sd_notify(3): newline-separated VARIABLE=VALUE
// assignments sent as one datagram to the AF_UNIX socket named by $NOTIFY_SOCKET. Node has no unix
// datagram sockets, so unix-dgram sends them. Without NOTIFY_SOCKET (not started by systemd with
// Type=notify) every method is a no-op.
import type { UnixDgramSocket } from 'unix-dgram';

export type NotifyAddress = { kind: 'path'; path: string } | { kind: 'abstract'; name: string } | { kind: 'invalid'; reason: string };

export interface NotifyLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

/** sockaddr_un.sun_path holds 108 bytes including the terminating NUL. */
const MAX_SOCKET_PATH_BYTES = 107;

/**
 * $NOTIFY_SOCKET as sd_notify(3) reads it: an absolute path, or an abstract socket name when it
 * starts with `@` (the `@` stands for the leading NUL byte). undefined when unset or empty.
 */
export function parseNotifySocket(value: string | undefined): NotifyAddress | undefined {
  if (value === undefined || value === '') return undefined;
  if (value.startsWith('@')) return { kind: 'abstract', name: `\0${value.slice(1)}` };
  if (!value.startsWith('/')) return { kind: 'invalid', reason: `NOTIFY_SOCKET must be an absolute path or start with @, got ${JSON.stringify(value)}` };
  if (Buffer.byteLength(value) > MAX_SOCKET_PATH_BYTES) return { kind: 'invalid', reason: `NOTIFY_SOCKET is longer than ${MAX_SOCKET_PATH_BYTES} bytes` };
  return { kind: 'path', path: value };
}

/**
 * The watchdog interval in microseconds as sd_watchdog_enabled(3) decides it: WATCHDOG_USEC is a
 * positive integer, and WATCHDOG_PID, when set, names this process (otherwise the watchdog is meant
 * for another process, e.g. our parent). undefined when the watchdog is off.
 */
export function watchdogUsec(env: NodeJS.ProcessEnv, pid: number): number | undefined {
  const usec = env.WATCHDOG_USEC;
  if (usec === undefined || !/^\d+$/.test(usec) || Number(usec) <= 0) return undefined;
  const target = env.WATCHDOG_PID;
  if (target !== undefined && target !== '' && Number(target) !== pid) return undefined;
  return Number(usec);
}

/** CLOCK_MONOTONIC in microseconds: libuv's hrtime reads that clock on Linux. */
function monotonicUsec(): bigint {
  return process.hrtime.bigint() / 1000n;
}

/** STATUS= is one line of free text. */
function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

export class SdNotify {
  private socket: UnixDgramSocket | undefined;
  private failed = false;
  private lastStatus: string | undefined;

  constructor(
    private readonly address: NotifyAddress | undefined,
    /** WATCHDOG_USEC, when the service manager expects WATCHDOG=1 pings from this process. */
    readonly watchdogUsec: number | undefined,
    private readonly log: NotifyLogger,
  ) {}

  /**
   * Reads NOTIFY_SOCKET, WATCHDOG_USEC and WATCHDOG_PID and removes them from `env`, as
   * sd_notify(3) and sd_watchdog_enabled(3) do with unset_environment: child processes must not
   * notify or ping on our behalf.
   */
  static fromEnvironment(log: NotifyLogger, env: NodeJS.ProcessEnv = process.env, pid = process.pid): SdNotify {
    const address = parseNotifySocket(env.NOTIFY_SOCKET);
    const usec = address ? watchdogUsec(env, pid) : undefined;
    delete env.NOTIFY_SOCKET;
    delete env.WATCHDOG_USEC;
    delete env.WATCHDOG_PID;
    return new SdNotify(address, usec, log);
  }

  /** True once start() opened a socket: messages are sent. */
  get enabled(): boolean {
    return this.socket !== undefined;
  }

  async start(): Promise<void> {
    const address = this.address;
    if (!address || this.socket) return;
    if (address.kind === 'invalid') return this.log.warn({ reason: address.reason }, 'systemd notifications are off');
    if (address.kind === 'abstract') {
      // unix-dgram copies the address with strncpy and passes sizeof(sockaddr_un) as its length,
      // so it cannot name an abstract socket (leading NUL, exact length). systemd itself uses a path.
      return this.log.warn({ notify_socket: `@${address.name.slice(1)}` }, 'systemd notifications are off: abstract NOTIFY_SOCKET names are not supported, only paths');
    }
    // Loaded only here: a machine without the native module still runs when not under systemd.
    const { createSocket } = await import('unix-dgram');
    const socket = createSocket('unix_dgram');
    socket.on('error', (err) => this.sendFailed(err));
    this.socket = socket;
    this.log.info({ notify_socket: address.path, watchdog_usec: this.watchdogUsec ?? null }, 'systemd notifications on');
  }

  /** READY=1: started (or reloaded), serving. */
  ready(status?: string): void {
    this.send(['READY=1', ...this.statusLines(status)]);
  }

  /** RELOADING=1 with MONOTONIC_USEC (systemd 253+ Type=notify-reload wants it; older ones ignore it). READY=1 follows. */
  reloading(status?: string): void {
    this.send(['RELOADING=1', `MONOTONIC_USEC=${monotonicUsec()}`, ...this.statusLines(status)]);
  }

  stopping(status?: string): void {
    this.send(['STOPPING=1', ...this.statusLines(status)]);
  }

  /** STATUS=: shown by `systemctl status`. Sent only when it differs from the last one. */
  status(text: string): void {
    const lines = this.statusLines(text);
    if (lines.length > 0) this.send(lines);
  }

  /** WATCHDOG=1: the keep-alive ping. */
  watchdog(): void {
    this.send(['WATCHDOG=1']);
  }

  close(): void {
    const socket = this.socket;
    this.socket = undefined;
    try {
      socket?.close();
    } catch {
      // already closed
    }
  }

  private statusLines(status: string | undefined): string[] {
    if (status === undefined) return [];
    const line = oneLine(status);
    if (line === this.lastStatus) return [];
    this.lastStatus = line;
    return [`STATUS=${line}`];
  }

  private send(lines: string[]): void {
    const socket = this.socket;
    if (!socket || this.address?.kind !== 'path') return;
    const datagram = Buffer.from(lines.join('\n') + '\n', 'utf8');
    try {
      socket.send(datagram, 0, datagram.length, this.address.path, (err) => {
        if (err) this.sendFailed(err);
        else this.failed = false;
      });
    } catch (err) {
      this.sendFailed(err as Error);
    }
  }

  /** Logged once per failure streak (the manager went away, the socket was removed); never thrown. */
  private sendFailed(err: Error & { code?: number | string }): void {
    if (this.failed) return;
    this.failed = true;
    this.log.warn({ err: { message: err.message, code: err.code } }, 'could not notify the service manager; will keep trying');
  }
}
