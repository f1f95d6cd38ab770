// A serial line for tests: socat joins two pseudo-terminals, reachable by stable link names.
// Killing socat makes the line vanish (both ends see the port close); start() brings it back under
// the same names, like a USB adapter plugged in again.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { requireTool } from './require-tool.js';
import { makeTempDir, removeTempDir } from './temp.js';
import { until } from './wait.js';

const START_TIMEOUT_MS = 10_000;
const STOP_GRACE_MS = 5_000;

export interface PtyPair {
  /** The gateway's end (what a transport's `path` names). */
  readonly a: string;
  /** The device's end. */
  readonly b: string;
  /** Starts socat (again) and waits until both link names exist. */
  start(): Promise<void>;
  /** Kills socat: both ends of the line go away. */
  kill(): Promise<void>;
  /** Kills socat and removes the directory of the links. */
  dispose(): Promise<void>;
}

class SocatPtyPair implements PtyPair {
  readonly a: string;
  readonly b: string;
  private readonly dir: string;
  private child: ChildProcess | null = null;
  private closed: Promise<void> = Promise.resolve();
  private stderr = '';

  constructor(private readonly socat: string) {
    this.dir = makeTempDir('pty');
    this.a = join(this.dir, 'a');
    this.b = join(this.dir, 'b');
  }

  async start(): Promise<void> {
    if (this.child !== null) throw new Error('socat is already running');
    this.stderr = '';
    const child = spawn(
      this.socat,
      ['-d', '-d', `pty,raw,echo=0,link=${this.a}`, `pty,raw,echo=0,link=${this.b}`],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    this.child = child;
    this.closed = new Promise((resolve) => child.once('close', () => resolve()));
    child.stderr?.on('data', (chunk: Buffer) => {
      this.stderr = (this.stderr + chunk.toString()).slice(-4000);
    });
    // socat logs "starting data transfer loop" once both ptys exist and are linked.
    const linked = () => {
      if (child.exitCode !== null || child.signalCode !== null) {
        this.child = null;
        throw new Error(`socat exited before creating the pty pair; stderr:\n${this.stderr}`);
      }
      return existsSync(this.a) && existsSync(this.b) && this.stderr.includes('starting data transfer loop');
    };
    try {
      await until(() => `socat to create ${this.a} and ${this.b}; stderr:\n${this.stderr}`, linked, START_TIMEOUT_MS);
    } catch (err) {
      await this.kill();
      throw err;
    }
  }

  async kill(): Promise<void> {
    const child = this.child;
    if (child === null) return;
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      const grace = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
      await this.closed;
      clearTimeout(grace);
    }
    this.child = null;
    // socat removes its links on a clean exit only; a killed one leaves them dangling.
    rmSync(this.a, { force: true });
    rmSync(this.b, { force: true });
  }

  async dispose(): Promise<void> {
    await this.kill();
    removeTempDir(this.dir);
  }
}

/** Starts a socat pty pair; fails loudly with the apt-get fix when socat is missing. */
export async function startPtyPair(): Promise<PtyPair> {
  const pair = new SocatPtyPair(requireTool('socat', 'socat'));
  await pair.start();
  return pair;
}
