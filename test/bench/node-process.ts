// A child node process (compiled, or TypeScript through tsx) that the benchmark owns: output kept (tail) and counted,
// stopped with SIGTERM and, if it lingers, SIGKILL.
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

const STOP_GRACE_MS = 10_000;
const TAIL_LINES = 40;

export class NodeProcess {
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  private readonly tail: string[] = [];
  /** Output lines seen on stdout and stderr (the gateway logs at warn level, so each one is news). */
  lines = 0;
  exitCode: number | null = null;

  constructor(
    private readonly args: string[],
    private readonly cwd: string,
    /** Load TypeScript through tsx (the gateway itself runs compiled, as in production); `env` adds to the environment. */
    private readonly opts: { tsx: boolean; env?: Record<string, string> } = { tsx: true },
  ) {}

  get pid(): number {
    if (this.child?.pid === undefined) throw new Error('process not started');
    return this.child.pid;
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  outputTail(): string {
    return this.tail.join('\n');
  }

  /** Spawns the process; resolves once it has a pid (rejects if it cannot be spawned at all). */
  start(): Promise<void> {
    // Its own process group: a Ctrl-C at the terminal reaches only the bench, whose cleanup then
    // stops this process with one SIGTERM (a second signal would make the gateway skip its clean stop).
    const loader = this.opts.tsx ? ['--import', 'tsx'] : [];
    const child = spawn(process.execPath, [...loader, ...this.args], { cwd: this.cwd, stdio: ['ignore', 'pipe', 'pipe'], detached: true, env: { ...process.env, ...this.opts.env } });
    this.child = child;
    this.exited = new Promise((resolve) =>
      child.once('close', (code) => {
        this.exitCode = code;
        resolve();
      }),
    );
    for (const stream of [child.stdout, child.stderr]) {
      createInterface({ input: stream! }).on('line', (line) => {
        this.lines++;
        this.tail.push(line);
        if (this.tail.length > TAIL_LINES) this.tail.shift();
      });
    }
    return new Promise((resolve, reject) => {
      child.once('spawn', () => resolve());
      child.once('error', (err) => reject(new Error(`cannot start node ${this.args.join(' ')}: ${err.message}`)));
    });
  }

  /** Resolves when the process exits. */
  whenExited(): Promise<void> {
    return this.exited;
  }

  /** SIGTERM, then SIGKILL after a grace period; resolves once the process is gone. */
  async stop(): Promise<void> {
    const child = this.child;
    if (!child) return;
    if (this.running) {
      child.kill('SIGTERM');
      const grace = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
      await this.exited;
      clearTimeout(grace);
    }
    await this.exited;
  }
}
