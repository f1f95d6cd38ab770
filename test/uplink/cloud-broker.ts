// The cloud broker for uplink tests: a real mosquitto on 127.0.0.1 with persistence on, so that a
// subscriber's persistent session (and the messages queued for it) and retained messages survive
// the restarts the tests put it through. Optionally a mutual-TLS listener and password logins, or
// the dynamic-security plugin (per-client ACLs, refusals with MQTT 5 reason codes, kicking a
// client). Mosquitto 2 takes MQTT 3.1.1 and MQTT 5 clients on the same listener.
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { canConnect, freePort } from '../support/ports.js';
import { requireTool } from '../support/require-tool.js';

const START_TIMEOUT_MS = 10_000;
const STOP_GRACE_MS = 5_000;
const LOG_KEEP_CHARS = 20_000;
const debug = Boolean(process.env.GATEHOUSE_TEST_DEBUG);

export interface CloudBrokerOptions {
  /** Users that must log in (anonymous access is refused when given). */
  users?: { username: string; password: string }[];
  /** Serve MQTT over TLS with these PEM files, requiring a client certificate signed by `ca`. */
  tls?: { ca: string; cert: string; key: string };
  /**
   * Logins and ACLs by mosquitto's dynamic-security plugin instead of `users`; set clients and roles
   * with dynsec() once it runs. Its admin is DYNSEC_ADMIN.
   */
  dynsec?: boolean;
  /** max_inflight_messages: also the Receive Maximum its CONNACK gives MQTT 5 clients (default 0, none). */
  maxInflight?: number;
  /**
   * max_queued_messages (default 0: unlimited, for persistent subscribers across long outages).
   * Mosquitto 2.0.11 with 0 closes a client's connection right after refusing one of its QoS 1
   * PUBLISHes (PUBACK 0x87), so tests of refusals give a bound.
   */
  maxQueued?: number;
  /** max_packet_size: also the Maximum Packet Size its CONNACK gives MQTT 5 clients. */
  maxPacketSize?: number;
}

export interface CloudBroker {
  port: number;
  /** mqtt://127.0.0.1:port or mqtts://localhost:port */
  url: string;
  readonly running: boolean;
  readonly log: string;
  /** SIGTERM: mosquitto saves sessions and retained messages on the way out. */
  stop(): Promise<void>;
  /** SIGKILL: nothing saved since the last autosave. */
  kill(): Promise<void>;
  /** Start again on the same port with the same persistence file. */
  start(): Promise<void>;
  /** Stop and delete the persistence folder. */
  dispose(): Promise<void>;
}

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

class MosquittoCloud implements CloudBroker {
  private child: ChildProcess | null = null;
  private closed: Promise<void> = Promise.resolve();
  private output = '';
  readonly url: string;

  constructor(
    readonly port: number,
    private readonly binary: string,
    private readonly dir: string,
    secure: boolean,
  ) {
    this.url = secure ? `mqtts://localhost:${port}` : `mqtt://127.0.0.1:${port}`;
  }

  get running(): boolean {
    return this.child !== null;
  }

  get log(): string {
    return this.output;
  }

  async start(): Promise<void> {
    if (this.child) return;
    const child = spawn(this.binary, ['-c', join(this.dir, 'mosquitto.conf')], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    this.closed = new Promise((resolve) => child.once('close', () => resolve()));
    for (const stream of [child.stdout!, child.stderr!]) {
      createInterface({ input: stream }).on('line', (line) => {
        this.output = (this.output + line + '\n').slice(-LOG_KEEP_CHARS);
        if (debug) process.stderr.write(`[cloud mosquitto ${child.pid}] ${line}\n`);
      });
    }
    let spawnError: Error | null = null;
    child.once('error', (err) => (spawnError = err));
    const deadline = Date.now() + START_TIMEOUT_MS;
    for (;;) {
      if (spawnError) throw new Error(`could not run ${this.binary}: ${(spawnError as Error).message}`);
      if (child.exitCode !== null || child.signalCode !== null) {
        this.child = null;
        throw new Error(`mosquitto exited before listening on ${this.port}:\n${this.output}`);
      }
      if (await canConnect(this.port)) return;
      if (Date.now() > deadline) {
        await this.halt('SIGKILL');
        throw new Error(`mosquitto did not listen on ${this.port} within ${START_TIMEOUT_MS} ms:\n${this.output}`);
      }
      await delay(20);
    }
  }

  stop(): Promise<void> {
    return this.halt('SIGTERM');
  }

  kill(): Promise<void> {
    return this.halt('SIGKILL');
  }

  async dispose(): Promise<void> {
    await this.halt('SIGKILL');
    rmSync(this.dir, { recursive: true, force: true });
  }

  private async halt(signal: NodeJS.Signals): Promise<void> {
    const child = this.child;
    if (!child) return;
    if (child.exitCode === null && child.signalCode === null) {
      child.kill(signal);
      const grace = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
      await this.closed;
      clearTimeout(grace);
    }
    this.child = null;
  }
}

export const DYNSEC_ADMIN = { username: 'dynsec-admin', password: 'dynsec-admin-secret-1' };

function dynsecPlugin(): string {
  const name = 'mosquitto_dynamic_security.so';
  const dirs = ['/usr/lib', '/usr/local/lib', ...readdirSync('/usr/lib').filter((d) => d.endsWith('-linux-gnu')).map((d) => join('/usr/lib', d))];
  const found = dirs.map((d) => join(d, name)).find((path) => existsSync(path));
  if (!found) throw new Error(`${name} (mosquitto's dynamic-security plugin) not found in ${dirs.join(', ')}; install it with: apt-get install -y mosquitto`);
  return found;
}

/** Runs `mosquitto_ctrl dynsec ARGS...` against a broker started with `dynsec: true`. */
export function dynsec(broker: CloudBroker, ...args: string[]): Promise<void> {
  const ctrl = requireTool('mosquitto_ctrl', 'mosquitto');
  const connect = ['-h', '127.0.0.1', '-p', String(broker.port), '-u', DYNSEC_ADMIN.username, '-P', DYNSEC_ADMIN.password];
  return new Promise((resolve, reject) => {
    execFile(ctrl, [...connect, 'dynsec', ...args], (err, stdout, stderr) => {
      // mosquitto_ctrl exits 0 even when the plugin answers with an error.
      const answer = `${stdout}${stderr}`.replace(/Warning: You are running mosquitto_ctrl without encryption\.\s*This means[^\n]*\n?/g, '').trim();
      if (err || /error/i.test(answer)) reject(new Error(`mosquitto_ctrl dynsec ${args.join(' ')}: ${err?.message ?? ''} ${answer}`));
      else resolve();
    });
  });
}

/** Ports tried before giving up; each clash means another process bound the picked port first. */
const PORT_ATTEMPTS = 5;

/**
 * Starts mosquitto with persistence on a free loopback port; dispose() it after the test. mosquitto
 * cannot listen on port 0 and report the port, so a port is picked and, on a clash, picked again.
 */
export async function startCloudBroker(opts: CloudBrokerOptions = {}): Promise<CloudBroker> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnFreePort(opts);
    } catch (err) {
      if (attempt >= PORT_ATTEMPTS || !/Address already in use/.test((err as Error).message)) throw err;
    }
  }
}

async function startOnFreePort(opts: CloudBrokerOptions): Promise<CloudBroker> {
  const binary = requireTool('mosquitto', 'mosquitto');
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-cloud-'));
  const port = await freePort();
  const conf = [
    `listener ${port} 127.0.0.1`,
    // Run as root, mosquitto would switch to the `mosquitto` user and could not write its folder.
    `user ${userInfo().username}`,
    'persistence true',
    `persistence_location ${dir}/`,
    'autosave_interval 1',
    // Keep everything queued for a persistent subscriber, however long the outage.
    `max_queued_messages ${opts.maxQueued ?? 0}`,
    `max_inflight_messages ${opts.maxInflight ?? 0}`,
    ...(opts.maxPacketSize !== undefined ? [`max_packet_size ${opts.maxPacketSize}`] : []),
    'log_dest stderr',
    'log_type error',
    'log_type warning',
    'log_type notice',
    // Every packet, with GATEHOUSE_TEST_DEBUG set.
    ...(debug ? ['log_type all'] : []),
  ];
  if (opts.users) {
    const passwd = requireTool('mosquitto_passwd', 'mosquitto');
    const file = join(dir, 'passwd');
    writeFileSync(file, '');
    for (const u of opts.users) execFileSync(passwd, ['-b', file, u.username, u.password], { stdio: 'pipe' });
    conf.push('allow_anonymous false', `password_file ${file}`);
  } else {
    conf.push('allow_anonymous true');
  }
  if (opts.dynsec) {
    const file = join(dir, 'dynsec.json');
    execFileSync(requireTool('mosquitto_ctrl', 'mosquitto'), ['dynsec', 'init', file, DYNSEC_ADMIN.username, DYNSEC_ADMIN.password], { stdio: 'pipe' });
    conf.push('allow_anonymous false', `plugin ${dynsecPlugin()}`, `plugin_opt_config_file ${file}`);
  }
  if (opts.tls) {
    conf.push(`cafile ${opts.tls.ca}`, `certfile ${opts.tls.cert}`, `keyfile ${opts.tls.key}`, 'require_certificate true');
  }
  writeFileSync(join(dir, 'mosquitto.conf'), conf.join('\n') + '\n');
  const broker = new MosquittoCloud(port, binary, dir, Boolean(opts.tls));
  try {
    await broker.start();
  } catch (err) {
    await broker.dispose();
    throw err;
  }
  return broker;
}
