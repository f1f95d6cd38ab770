// `gatehouse run --config FILE` as a child process the way systemd runs it: with NOTIFY_SOCKET and
// WATCHDOG_USEC in its environment, signalled with SIGTERM / SIGHUP / SIGSTOP, its JSON log lines
// parsed as they arrive.
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { TestContext } from 'node:test';
import { spawnCli } from '../cli/cli-process.js';

const DEFAULT_WAIT_MS = 30_000;
const KILL_AFTER_MS = 30_000;
const KEEP_CHARS = 40_000;
const debug = Boolean(process.env.GATEHOUSE_TEST_DEBUG);

export interface LogLine {
  level: number;
  msg: string;
  [key: string]: unknown;
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface ServiceProcess {
  pid: number;
  /** Every JSON log line so far, in order. */
  logs: LogLine[];
  readonly stderr: string;
  /** Resolves with the first log line, past or future, that matches; rejects if the process exits first. */
  waitForLog(what: string, pred: (line: LogLine) => boolean, timeoutMs?: number): Promise<LogLine>;
  signal(signal: NodeJS.Signals): void;
  /** Resolves with how the process ended (SIGKILLed if it has not ended within `timeoutMs`). */
  exit(timeoutMs?: number): Promise<Exit>;
  readonly running: boolean;
}

export interface ServiceOptions {
  env?: Record<string, string>;
  args?: string[];
}

class ChildService implements ServiceProcess {
  readonly logs: LogLine[] = [];
  stderr = '';
  private readonly exited: Promise<Exit>;
  private readonly waiters = new Set<{ pred(line: LogLine): boolean; resolve(line: LogLine): void }>();
  private ended: Exit | undefined;

  constructor(private readonly child: ChildProcessWithoutNullStreams) {
    this.exited = new Promise((resolve) =>
      child.once('close', (code, signal) => {
        this.ended = { code, signal };
        resolve(this.ended);
      }),
    );
    child.stdin.on('error', () => undefined);
    child.stderr.on('data', (chunk: Buffer) => {
      this.stderr = (this.stderr + chunk.toString()).slice(-KEEP_CHARS);
      if (debug) process.stderr.write(`[gatehouse ${child.pid} stderr] ${chunk}`);
    });
    createInterface({ input: child.stdout }).on('line', (text) => {
      if (debug) process.stderr.write(`[gatehouse ${child.pid}] ${text}\n`);
      let line: LogLine;
      try {
        line = JSON.parse(text) as LogLine;
      } catch {
        return;
      }
      this.logs.push(line);
      for (const waiter of [...this.waiters]) if (waiter.pred(line)) waiter.resolve(line);
    });
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  get running(): boolean {
    return this.ended === undefined;
  }

  waitForLog(what: string, pred: (line: LogLine) => boolean, timeoutMs = DEFAULT_WAIT_MS): Promise<LogLine> {
    const seen = this.logs.find(pred);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const fail = (why: string) => {
        clearTimeout(timer);
        this.waiters.delete(waiter);
        const recent = this.logs.slice(-15).map((l) => `${l.level} ${l.msg}`);
        reject(new Error(`no log line "${what}": ${why}; last lines:\n  ${recent.join('\n  ')}\nstderr:\n${this.stderr}`));
      };
      const waiter = {
        pred,
        resolve: (line: LogLine) => {
          clearTimeout(timer);
          this.waiters.delete(waiter);
          resolve(line);
        },
      };
      const timer = setTimeout(() => fail(`not within ${timeoutMs} ms`), timeoutMs);
      this.waiters.add(waiter);
      void this.exited.then((e) => {
        if (this.waiters.has(waiter)) fail(`the process exited (code ${e.code}, signal ${e.signal})`);
      });
    });
  }

  signal(signal: NodeJS.Signals): void {
    if (this.running) this.child.kill(signal);
  }

  async exit(timeoutMs = KILL_AFTER_MS): Promise<Exit> {
    const timer = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }
}

/** Starts `gatehouse run --config FILE`; SIGCONT + SIGKILL after the test if it is still running. */
export function spawnService(t: TestContext, configFile: string, opts: ServiceOptions = {}): ServiceProcess {
  const child = spawnCli(['run', '--config', configFile, ...(opts.args ?? [])], { env: opts.env });
  const service = new ChildService(child);
  t.after(async () => {
    if (!service.running) return;
    // A stopped (SIGSTOP) process takes SIGKILL too, but SIGCONT first keeps its pipes tidy.
    child.kill('SIGCONT');
    child.kill('SIGKILL');
    await service.exit();
  });
  return service;
}

/** The line pino writes for `msg`, e.g. isLog('gatehouse online'). */
export const isLog = (msg: string | RegExp) => (line: LogLine) => (typeof msg === 'string' ? line.msg === msg : msg.test(line.msg));
