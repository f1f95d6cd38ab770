// `gatehouse run --config FILE` as a child process, for tests that kill -9 the gateway.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { TestContext } from 'node:test';
import { cliEnv, PACKAGE_ROOT } from '../cli/cli-process.js';

const CLI = join(PACKAGE_ROOT, 'src', 'cli.ts');
const READY_TIMEOUT_MS = 30_000;
const EXIT_TIMEOUT_MS = 15_000;
const KEEP_CHARS = 20_000;
const debug = Boolean(process.env.GATEHOUSE_TEST_DEBUG);

export interface GatewayProcess {
  /** The embedded broker's port, read from the `gatehouse online` log line. */
  port: number;
  pid: number;
  readonly stdout: string;
  readonly stderr: string;
  /** Sends `signal` and resolves once the process exited. */
  kill(signal: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export interface SpawnOptions {
  /** Run as this user (the test runs as root). */
  uid?: number;
  gid?: number;
}

/** Writes `document` as JSON into `dir` and returns the file name. */
export function writeConfig(dir: string, document: Record<string, unknown>, name = 'gatehouse.json'): string {
  const file = join(dir, name);
  writeFileSync(file, JSON.stringify({ ...document, log: { level: 'info' } }, null, 2));
  return file;
}

function start(configFile: string, opts: SpawnOptions): ChildProcessWithoutNullStreams {
  return spawn(process.execPath, ['--import', 'tsx', CLI, 'run', '--config', configFile], {
    cwd: PACKAGE_ROOT,
    env: cliEnv(),
    stdio: ['pipe', 'pipe', 'pipe'],
    ...(opts.uid !== undefined ? { uid: opts.uid } : {}),
    ...(opts.gid !== undefined ? { gid: opts.gid } : {}),
  });
}

class ChildGateway implements GatewayProcess {
  port = 0;
  stdout = '';
  stderr = '';
  private readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor(private readonly child: ChildProcessWithoutNullStreams) {
    this.exited = new Promise((resolve) => child.once('close', (code, signal) => resolve({ code, signal })));
    child.stdin.on('error', () => undefined);
    child.stderr.on('data', (chunk: Buffer) => {
      this.stderr = (this.stderr + chunk.toString()).slice(-KEEP_CHARS);
      if (debug) process.stderr.write(`[gateway ${child.pid}] ${chunk}`);
    });
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  /** Resolves with the broker port once the gateway logged `gatehouse online`; rejects if it exits first. */
  ready(): Promise<number> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`gateway not online within ${READY_TIMEOUT_MS} ms; stderr:\n${this.stderr}\nstdout:\n${this.stdout}`)), READY_TIMEOUT_MS);
      void this.exited.then(({ code, signal }) => {
        clearTimeout(timer);
        reject(new Error(`gateway exited (code ${code}, signal ${signal}) before it was online; stderr:\n${this.stderr}\nstdout:\n${this.stdout}`));
      });
      createInterface({ input: this.child.stdout }).on('line', (line) => {
        this.stdout = (this.stdout + line + '\n').slice(-KEEP_CHARS);
        if (debug) process.stderr.write(`[gateway ${this.child.pid}] ${line}\n`);
        try {
          const entry = JSON.parse(line) as { msg?: string; port?: number };
          if (entry.msg === 'gatehouse online' && typeof entry.port === 'number') {
            clearTimeout(timer);
            this.port = entry.port;
            resolve(entry.port);
          }
        } catch {
          // not a log line
        }
      });
    });
  }

  async kill(signal: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
    const timer = setTimeout(() => this.child.kill('SIGKILL'), EXIT_TIMEOUT_MS);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Resolves with how it exited, whatever made it exit. */
  exit(): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    return this.exited;
  }
}

/** Starts `gatehouse run --config FILE` and waits until it is online. SIGKILLed after the test if still running. */
export async function spawnGateway(t: TestContext, configFile: string, opts: SpawnOptions = {}): Promise<GatewayProcess> {
  const gateway = new ChildGateway(start(configFile, opts));
  t.after(() => gateway.kill('SIGKILL'));
  await gateway.ready();
  return gateway;
}

/** Runs `gatehouse run --config FILE` expecting it to fail at start; resolves with its exit and output. */
export async function runGatewayToExit(t: TestContext, configFile: string, opts: SpawnOptions = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = start(configFile, opts);
  const gateway = new ChildGateway(child);
  t.after(() => gateway.kill('SIGKILL'));
  let stdout = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), READY_TIMEOUT_MS);
  const { code } = await gateway.exit();
  clearTimeout(timer);
  return { code, stdout, stderr: gateway.stderr };
}
