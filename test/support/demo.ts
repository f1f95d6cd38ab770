// The demo (`gatehouse demo`) as a child process on free ports, for tests that use it as a user would.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { spawnCli } from '../cli/cli-process.js';

const BANNER_DONE = /mosquitto_pub -p \d+ -u guard -P guard-demo -q 1 -t site\/demo\/camera/;
const DEFAULT_WAIT_MS = 30_000;

export interface DemoProcess {
  child: ChildProcessWithoutNullStreams;
  /** The bound MQTT port (from the banner); 0 when the demo exited before printing it. */
  port: number;
  readonly stderr: string;
  readonly stdout: string;
  /** Resolves with the exit code and signal once the process has exited. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGKILLs the demo if still running and removes its data directory. */
  cleanUp(): Promise<void>;
}

/**
 * Starts the demo with --port 0 and GATEHOUSE_METRICS_PORT=0 (plus `env`) in a temporary data
 * directory; resolves once the banner is printed or the process has exited (then port is 0).
 */
export async function startDemo(env: Record<string, string> = {}, waitMs = DEFAULT_WAIT_MS): Promise<DemoProcess> {
  const dataDir = mkdtempSync(join(tmpdir(), 'gatehouse-demo-'));
  const child = spawnCli(['demo', '--port', '0', '--data-dir', dataDir], { env: { GATEHOUSE_METRICS_PORT: '0', ...env } });
  child.stdin.end();
  let stderr = '';
  let stdout = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('close', (code, signal) => resolve({ code, signal })));
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    exited,
    new Promise<void>((resolve, reject) => {
      const deadline = Date.now() + waitMs;
      const tick = () => {
        if (BANNER_DONE.test(stderr)) return resolve();
        if (Date.now() > deadline) return reject(new Error(`the demo printed no banner within ${waitMs} ms; stderr:\n${stderr}\nstdout:\n${stdout.slice(-2000)}`));
        timer = setTimeout(tick, 20);
      };
      tick();
    }),
  ]).finally(() => clearTimeout(timer));
  const port = Number(/MQTT on 127\.0\.0\.1:(\d+)/.exec(stderr)?.[1] ?? 0);
  return {
    child,
    port,
    get stderr() {
      return stderr;
    },
    get stdout() {
      return stdout;
    },
    exited,
    async cleanUp() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL');
        await exited;
      }
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Resolves with the exit of `demo`, or rejects after `timeoutMs` naming `what`. */
export function exitWithin(demo: DemoProcess, timeoutMs: number, what: string): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    demo.exited,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`the demo did not exit within ${timeoutMs} ms of ${what}; stderr:\n${demo.stderr}`)), timeoutMs);
    }),
  ]).finally(() => clearTimeout(timer));
}
