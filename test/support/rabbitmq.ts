// A real RabbitMQ cluster for tests and benches: Debian's rabbitmq-server (3.10) with the MQTT
// plugin, two (or more) nodes on loopback ports, started and stopped by the caller.
//
// Each cluster has its own epmd on a run-time port (ERL_EPMD_PORT), started here as a foreground
// child, so nothing collides with a system RabbitMQ and every process is ended by its PID. Each
// node runs as the rabbitmq user from its own directory (mnesia/ and log/ owned by rabbitmq, a
// copy of the system .erlang.cookie, mode 400); node names are unique per run.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { canConnect, freePort } from './ports.js';
import { requireTool } from './require-tool.js';
import { makeTempDir, removeTempDir } from './temp.js';
import { until } from './wait.js';

const PACKAGE = 'rabbitmq-server';
const SYSTEM_COOKIE = '/var/lib/rabbitmq/.erlang.cookie';
/** A node boots in about 20 s on this kind of machine; two in parallel on 2 cores take longer. */
const NODE_START_MS = 120_000;
const CTL_TIMEOUT_MS = 60_000;
const debug = Boolean(process.env.GATEHOUSE_TEST_DEBUG);

export interface RabbitNode {
  /** rNNN-1@localhost */
  name: string;
  /** The MQTT listener on 127.0.0.1. */
  mqttPort: number;
  mqttUrl: string;
  /** The beam's PID (from RABBITMQ_PID_FILE), once started. */
  pid: number | undefined;
  /** SIGKILL the node (beam and its start script) and wait until its MQTT port is closed. */
  kill(): Promise<void>;
  /** True while its MQTT port accepts connections. */
  alive(): Promise<boolean>;
}

export interface RabbitCluster {
  nodes: RabbitNode[];
  /** `rabbitmqctl -n <node> args...` with this cluster's cookie and epmd; resolves with stdout. */
  ctl(node: RabbitNode, args: string[]): Promise<string>;
  /** Kills every node and the epmd by PID, removes the directories. Safe to call twice. */
  stop(): Promise<void>;
}

function rabbitIds(): { uid: number; gid: number } {
  const line = readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.startsWith('rabbitmq:'));
  if (!line) throw new Error(`no rabbitmq user in /etc/passwd; install it with: apt-get install -y ${PACKAGE}`);
  const [, , uid, gid] = line.split(':');
  return { uid: Number(uid), gid: Number(gid) };
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('close', () => resolve()));
}

function killPid(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

class NodeProcess implements RabbitNode {
  pid: number | undefined;
  child: ChildProcess | undefined;
  output = '';
  readonly mqttUrl: string;

  constructor(
    readonly name: string,
    readonly dir: string,
    readonly mqttPort: number,
    readonly env: NodeJS.ProcessEnv,
  ) {
    this.mqttUrl = `mqtt://127.0.0.1:${mqttPort}`;
  }

  start(script: string, ids: { uid: number; gid: number }): void {
    // The script itself (not Debian's wrapper, which su's and resets HOME), as the rabbitmq user.
    const child = spawn(script, [], { env: this.env, cwd: this.dir, uid: ids.uid, gid: ids.gid, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    const keep = (chunk: Buffer) => {
      this.output = (this.output + chunk.toString()).slice(-8000);
      if (debug) process.stderr.write(`[${this.name}] ${chunk.toString()}`);
    };
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
  }

  async waitReady(): Promise<void> {
    await until(
      () => `RabbitMQ node ${this.name} to accept MQTT on ${this.mqttPort} (output: ${this.output.slice(-2000)})`,
      async () => {
        if (this.child && (this.child.exitCode !== null || this.child.signalCode !== null)) {
          throw new Error(`RabbitMQ node ${this.name} exited (${this.child.exitCode ?? this.child.signalCode}) before it was ready:\n${this.output.slice(-3000)}`);
        }
        return canConnect(this.mqttPort);
      },
      NODE_START_MS,
      250,
    );
    this.pid = Number(readFileSync(join(this.dir, 'rabbit.pid'), 'utf8').trim());
  }

  async kill(): Promise<void> {
    killPid(this.pid);
    if (this.child?.pid !== undefined) killPid(this.child.pid);
    if (this.child) await exited(this.child);
    const pid = this.pid;
    if (pid !== undefined) await until(`beam ${pid} of ${this.name} to end`, () => !pidAlive(pid), 10_000, 50);
    await until(`MQTT port ${this.mqttPort} of ${this.name} to close`, async () => !(await canConnect(this.mqttPort)), 10_000, 50);
  }

  alive(): Promise<boolean> {
    return canConnect(this.mqttPort);
  }
}

let runCounter = 0;

/**
 * Starts `size` RabbitMQ nodes in parallel (each with the MQTT plugin, anonymous MQTT allowed,
 * 127.0.0.1 listeners on run-time ports) and joins the others to the first. The caller stops it
 * (cluster.stop()) in an after hook; a failure here stops what was started before it throws.
 */
export async function startRabbitCluster(opts: { size?: number } = {}): Promise<RabbitCluster> {
  const size = opts.size ?? 2;
  const script = requireTool('rabbitmq-server', PACKAGE) && '/usr/lib/rabbitmq/bin/rabbitmq-server';
  const ctlScript = requireTool('rabbitmqctl', PACKAGE) && '/usr/lib/rabbitmq/bin/rabbitmqctl';
  const epmdBinary = requireTool('epmd', 'erlang-base');
  const ids = rabbitIds();
  const root = makeTempDir('rabbitmq');
  chmodSync(root, 0o755);
  const epmdPort = await freePort();
  const run = `r${process.pid}x${Date.now().toString(36)}${runCounter++}`;
  const baseEnv: NodeJS.ProcessEnv = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    LANG: 'C.UTF-8',
    LC_ALL: 'C.UTF-8',
    ERL_EPMD_PORT: String(epmdPort),
  };
  let epmd: ChildProcess | undefined;
  const nodes: NodeProcess[] = [];
  // rabbitmqctl runs as root with its own HOME holding the same cookie.
  const ctlHome = join(root, 'ctl');
  mkdirSync(ctlHome);
  copyFileSync(SYSTEM_COOKIE, join(ctlHome, '.erlang.cookie'));
  chmodSync(join(ctlHome, '.erlang.cookie'), 0o400);

  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await Promise.all(nodes.map((n) => n.kill().catch(() => undefined)));
    killPid(epmd?.pid);
    if (epmd) await exited(epmd);
    removeTempDir(root);
  };

  const ctl = (node: RabbitNode, args: string[]): Promise<string> =>
    new Promise((resolve, reject) => {
      execFile(
        ctlScript,
        ['-n', node.name, ...args],
        { env: { ...baseEnv, HOME: ctlHome }, timeout: CTL_TIMEOUT_MS },
        (err, stdout, stderr) => (err ? reject(new Error(`rabbitmqctl -n ${node.name} ${args.join(' ')} failed: ${err.message}\n${stderr}${stdout}`)) : resolve(stdout)),
      );
    });

  try {
    epmd = spawn(epmdBinary, ['-port', String(epmdPort), '-address', '127.0.0.1'], { stdio: 'ignore' });
    await until(`epmd on port ${epmdPort}`, () => canConnect(epmdPort), 10_000, 50);
    for (let i = 1; i <= size; i++) {
      const dir = join(root, `node${i}`);
      for (const sub of ['', 'mnesia', 'log']) {
        mkdirSync(join(dir, sub), { recursive: true });
        chownSync(join(dir, sub), ids.uid, ids.gid);
      }
      const cookie = join(dir, '.erlang.cookie');
      copyFileSync(SYSTEM_COOKIE, cookie);
      chownSync(cookie, ids.uid, ids.gid);
      chmodSync(cookie, 0o400);
      const [amqpPort, mqttPort, distPort] = [await freePort(), await freePort(), await freePort()];
      writeFileSync(join(dir, 'enabled_plugins'), '[rabbitmq_mqtt].\n');
      writeFileSync(
        join(dir, 'rabbitmq.conf'),
        [
          `listeners.tcp.default = 127.0.0.1:${amqpPort}`,
          `mqtt.listeners.tcp.default = 127.0.0.1:${mqttPort}`,
          'mqtt.allow_anonymous = true',
          'loopback_users = none',
          'management.tcp.port = 0',
          // A small machine: do not refuse publishers for lack of disk or memory.
          'disk_free_limit.absolute = 1MB',
          '',
        ].join('\n'),
      );
      const name = `${run}-${i}@localhost`;
      const env: NodeJS.ProcessEnv = {
        ...baseEnv,
        HOME: dir,
        RABBITMQ_NODENAME: name,
        RABBITMQ_NODE_IP_ADDRESS: '127.0.0.1',
        RABBITMQ_NODE_PORT: String(amqpPort),
        RABBITMQ_DIST_PORT: String(distPort),
        RABBITMQ_MNESIA_BASE: join(dir, 'mnesia'),
        RABBITMQ_LOG_BASE: join(dir, 'log'),
        RABBITMQ_ENABLED_PLUGINS_FILE: join(dir, 'enabled_plugins'),
        RABBITMQ_CONFIG_FILE: join(dir, 'rabbitmq'),
        RABBITMQ_PID_FILE: join(dir, 'rabbit.pid'),
        RABBITMQ_LOGS: '-',
        // Erlang distribution (clustering, rabbitmqctl) on loopback only.
        RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS: '-kernel inet_dist_use_interface {127,0,0,1}',
      };
      nodes.push(new NodeProcess(name, dir, mqttPort, env));
    }
    for (const node of nodes) node.start(script, ids);
    await Promise.all(nodes.map((n) => n.waitReady()));
    const [first, ...others] = nodes;
    for (const node of others) {
      await ctl(node, ['stop_app']);
      await ctl(node, ['join_cluster', first.name]);
      await ctl(node, ['start_app']);
      await until(`${node.name} to accept MQTT again after joining`, () => node.alive(), NODE_START_MS, 100);
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return { nodes, ctl, stop };
}
