// The fleet's cloud broker: one mosquitto on 127.0.0.1 with a password per site and the per-site
// ACL (fleet-acl.ts), persistence on so that the back end's sessions survive a restart.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { canConnect } from '../support/ports.js';
import { requireTool } from '../support/require-tool.js';

const START_TIMEOUT_MS = 10_000;

export class FleetMosquitto {
  private child: ChildProcess | undefined;
  private closed: Promise<void> = Promise.resolve();
  private output = '';
  private readonly binary = requireTool('mosquitto', 'mosquitto');
  readonly url: string;

  constructor(
    readonly port: number,
    private readonly dir: string,
    logins: { username: string; password: string }[],
    acl: string,
  ) {
    this.url = `mqtt://127.0.0.1:${port}`;
    const passwd = join(dir, 'passwd');
    // mosquitto_passwd -U hashes a whole file of user:password lines at once.
    writeFileSync(passwd, logins.map((l) => `${l.username}:${l.password}`).join('\n') + '\n', { mode: 0o600 });
    execFileSync(requireTool('mosquitto_passwd', 'mosquitto'), ['-U', passwd], { stdio: 'pipe' });
    writeFileSync(join(dir, 'acl'), acl);
    writeFileSync(
      join(dir, 'mosquitto.conf'),
      [
        `listener ${port} 127.0.0.1`,
        `user ${userInfo().username}`,
        'allow_anonymous false',
        `password_file ${passwd}`,
        `acl_file ${join(dir, 'acl')}`,
        'persistence true',
        `persistence_location ${dir}/`,
        'autosave_interval 1',
        'max_queued_messages 0',
        'max_inflight_messages 0',
        'log_dest stderr',
        'log_type error',
        'log_type warning',
        '',
      ].join('\n'),
    );
  }

  get log(): string {
    return this.output;
  }

  async start(): Promise<void> {
    const child = spawn(this.binary, ['-c', join(this.dir, 'mosquitto.conf')], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    this.closed = new Promise((resolve) => child.once('close', () => resolve()));
    const keep = (chunk: Buffer) => (this.output = (this.output + chunk.toString()).slice(-8000));
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    const deadline = Date.now() + START_TIMEOUT_MS;
    while (!(await canConnect(this.port))) {
      if (child.exitCode !== null) throw new Error(`mosquitto exited: ${this.output}`);
      if (Date.now() > deadline) throw new Error(`mosquitto did not listen on ${this.port}: ${this.output}`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  /** SIGTERM: mosquitto saves its sessions and retained messages, then exits. */
  async stop(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const grace = setTimeout(() => child.kill('SIGKILL'), 5000);
    await this.closed;
    clearTimeout(grace);
  }
}
