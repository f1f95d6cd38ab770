// gatehouse as a long-running child process (`gatehouse run --config FILE`, or `gatehouse demo`),
// the way systemd or a user runs it: its JSON log lines on stdout parsed as they arrive, signals
// (SIGTERM, SIGHUP, SIGSTOP, SIGKILL ...), and how it exited.
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { TestContext } from 'node:test';
import { spawnCli, type SpawnCliOptions } from './cli-process.js';
import { configDocument, type HarnessOptions } from './site.js';
import { tempDir } from './temp.js';

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

export interface GatehouseProcess {
  readonly child: ChildProcessWithoutNullStreams;
  readonly pid: number;
  /** Every JSON log line on stdout so far, in order. */
  readonly logs: LogLine[];
  /** The last of stdout and stderr, as text. */
  readonly stdout: string;
  readonly stderr: string;
  readonly running: boolean;
  /** Resolves with how the process ended; never ends it. */
  readonly exited: Promise<Exit>;
  /** Resolves with the first log line, past or future, that matches; rejects if the process exits first. */
  waitForLog(what: string, pred: (line: LogLine) => boolean, timeoutMs?: number): Promise<LogLine>;
  signal(signal: NodeJS.Signals): void;
  /** Resolves with how the process ended (SIGKILLed if it has not ended within `timeoutMs`). */
  exit(timeoutMs?: number): Promise<Exit>;
  /** Sends `signal` and resolves once the process exited. */
  kill(signal: NodeJS.Signals): Promise<Exit>;
  /** The embedded broker's port, from the `gatehouse online` log line (waits for it). */
  brokerPort(timeoutMs?: number): Promise<number>;
}

/** A gateway that has logged `gatehouse online`. */
export interface GatewayProcess extends GatehouseProcess {
  /** The embedded broker's port, from the `gatehouse online` log line. */
  readonly port: number;
}

class ChildGatehouse implements GatehouseProcess {
  readonly logs: LogLine[] = [];
  stdout = '';
  stderr = '';
  readonly exited: Promise<Exit>;
  private readonly waiters = new Set<{ pred(line: LogLine): boolean; resolve(line: LogLine): void }>();
  private ended: Exit | undefined;

  constructor(readonly child: ChildProcessWithoutNullStreams) {
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
      this.stdout = (this.stdout + text + '\n').slice(-KEEP_CHARS);
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

  kill(signal: NodeJS.Signals): Promise<Exit> {
    this.signal(signal);
    return this.exit();
  }

  async brokerPort(timeoutMs = DEFAULT_WAIT_MS): Promise<number> {
    const online = await this.waitForLog('gatehouse online', isOnline, timeoutMs);
    return online.port as number;
  }
}

const isOnline = (l: LogLine) => l.msg === 'gatehouse online' && typeof l.port === 'number';

/**
 * Starts `gatehouse ...args`. With a test context it is ended after the test if still running
 * (SIGCONT first, so that a stopped process takes the SIGKILL with tidy pipes); without one the
 * caller ends it.
 */
export function spawnGatehouse(t: TestContext | null, args: string[], opts: SpawnCliOptions = {}): GatehouseProcess {
  const gatehouse = new ChildGatehouse(spawnCli(args, opts));
  t?.after(async () => {
    if (!gatehouse.running) return;
    gatehouse.signal('SIGCONT');
    await gatehouse.kill('SIGKILL');
  });
  return gatehouse;
}

export interface RunOptions extends SpawnCliOptions {
  /** More arguments after `run --config FILE`. */
  args?: string[];
}

/** Starts `gatehouse run --config FILE` and returns at once; ended after the test if still running. */
export function spawnService(t: TestContext, configFile: string, opts: RunOptions = {}): GatehouseProcess {
  return spawnGatehouse(t, ['run', '--config', configFile, ...(opts.args ?? [])], opts);
}

/** Starts `gatehouse run --config FILE` and resolves once it logged `gatehouse online` (rejects if it exits first). */
export async function spawnGateway(t: TestContext, configFile: string, opts: RunOptions = {}): Promise<GatewayProcess> {
  const gateway = spawnService(t, configFile, opts);
  return Object.assign(gateway, { port: await gateway.brokerPort() });
}

/** Runs `gatehouse run --config FILE` expecting it to fail at start; resolves with its exit and output. */
export async function runGatewayToExit(t: TestContext, configFile: string, opts: RunOptions = {}): Promise<Exit & { stdout: string; stderr: string }> {
  const gateway = spawnService(t, configFile, opts);
  const end = await gateway.exit(DEFAULT_WAIT_MS);
  return { ...end, stdout: gateway.stdout, stderr: gateway.stderr };
}

/** The line pino writes for `msg`, e.g. isLog('gatehouse online'). */
export const isLog = (msg: string | RegExp) => (line: LogLine) => (typeof msg === 'string' ? line.msg === msg : msg.test(line.msg));

/** Writes `document` as JSON, with info logging (what the log lines above need), into `dir`; returns the file name. */
export function writeConfig(dir: string, document: Record<string, unknown>, name = 'gatehouse.json'): string {
  const file = join(dir, name);
  writeFileSync(file, JSON.stringify({ ...document, log: { level: 'info' } }, null, 2));
  return file;
}

export interface SiteFiles {
  dir: string;
  file: string;
  dataDir: string;
  /** The document last written. */
  document: Record<string, unknown>;
  /** Writes `document` to `file` (for a reload). */
  write(document: Record<string, unknown>): void;
}

/**
 * The test site's config file for a child process, in a temporary directory removed after the
 * test: info logging, and broker port 0 (the OS picks a free one; the process's `brokerPort()`
 * reads it from its `gatehouse online` line). `extra` is merged over the top level of the document.
 */
export async function siteFiles(t: TestContext, modbusPort: number, opts: HarnessOptions & { extra?: Record<string, unknown> } = {}): Promise<SiteFiles> {
  const dir = tempDir(t, 'service');
  const dataDir = join(dir, 'data');
  const document = await configDocument(modbusPort, dataDir, opts);
  document.log = { level: 'info' };
  document.broker = { ...(document.broker as Record<string, unknown>), port: 0 };
  Object.assign(document, opts.extra);
  const site: SiteFiles = {
    dir,
    file: join(dir, 'gatehouse.json'),
    dataDir,
    document,
    write(next) {
      site.document = next;
      writeFileSync(site.file, JSON.stringify(next, null, 2));
    },
  };
  site.write(document);
  return site;
}
