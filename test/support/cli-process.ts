// Runs the gatehouse CLI as a child process, the way an installer would: `node --import tsx src/cli.ts ...`.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const PACKAGE_ROOT = dirname(dirname(dirname(fileURLToPath(import.meta.url))));
const CLI = join(PACKAGE_ROOT, 'src', 'cli.ts');
/** tsx by its resolved location, so that a CLI started in another directory (`cwd`) finds it too. */
const TSX = import.meta.resolve('tsx');
const DEFAULT_TIMEOUT_MS = 30_000;

export interface CliRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** The environment without GATEHOUSE_* variables of whoever runs the tests, plus `extra`. */
export function cliEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith('GATEHOUSE_')) env[key] = value;
  return { ...env, ...extra };
}

export interface SpawnCliOptions {
  /** Added to the environment (GATEHOUSE_* variables of whoever runs the tests are left out). */
  env?: Record<string, string>;
  /** The package root by default. */
  cwd?: string;
  /** Node options, before the script. */
  nodeArgs?: string[];
  /** Run as this user and group (the tests may run as root). */
  uid?: number;
  gid?: number;
}

/** Starts `gatehouse ...args` and leaves it running; the caller ends it. */
export function spawnCli(args: string[], opts: SpawnCliOptions = {}): ChildProcessWithoutNullStreams {
  return spawn(process.execPath, ['--import', TSX, ...(opts.nodeArgs ?? []), CLI, ...args], {
    cwd: opts.cwd ?? PACKAGE_ROOT,
    env: cliEnv(opts.env),
    stdio: ['pipe', 'pipe', 'pipe'],
    ...(opts.uid !== undefined ? { uid: opts.uid } : {}),
    ...(opts.gid !== undefined ? { gid: opts.gid } : {}),
  });
}

/** Runs `gatehouse ...args` to completion, with `input` on stdin; SIGKILLs it after the timeout. */
export function runCli(args: string[], opts: SpawnCliOptions & { input?: string; timeoutMs?: number } = {}): Promise<CliRun> {
  const child = spawnCli(args, opts);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  child.stdin.on('error', () => {});
  child.stdin.end(opts.input);
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`gatehouse ${args.join(' ')} did not exit within ${timeoutMs} ms; stderr:\n${stderr}`));
    }, timeoutMs);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}
