// Real Mosquitto peers for tests: a broker, and the mosquitto_sub / mosquitto_pub clients.
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { canConnect, freePort } from './ports.js';
import { requireTool } from './require-tool.js';
import { makeTempDir, removeTempDir } from './temp.js';
import { until } from './wait.js';

const debug = Boolean(process.env.GATEHOUSE_TEST_DEBUG);
const START_TIMEOUT_MS = 10_000;
const STOP_GRACE_MS = 5_000;
const DEFAULT_WAIT_MS = 5_000;
const CLIENT_TIMEOUT_MS = 15_000;
const STDERR_KEEP_CHARS = 8_000;

export interface MosquittoBroker {
  port: number;
  /** SIGTERM, await exit. */
  stop(): Promise<void>;
  /** SIGKILL, await exit. */
  kill(): Promise<void>;
  /** Start again on the same port (persistence is off, so no sessions or retained messages survive). */
  restart(): Promise<void>;
}

export interface SubMessage {
  topic: string;
  payload: Buffer;
  /** payload decoded as UTF-8 */
  text: string;
  retain: boolean;
  qos: number;
}

export interface Subscriber {
  /** Every message received so far, in order. */
  messages: SubMessage[];
  /** Resolves with the first message, past or future, that matches. */
  waitFor(pred: (m: SubMessage) => boolean, timeoutMs?: number): Promise<SubMessage>;
  /** Ends mosquitto_sub (SIGTERM) and awaits its exit. */
  stop(): Promise<void>;
  /** null while mosquitto_sub runs; its exit code once it exited (e.g. refused CONNACK). */
  readonly exitCode: number | null;
  readonly stderr: string;
  /** Return codes of the SUBACK, one per topic (0x80 = refused), empty until subscribed. */
  readonly granted: number[];
}

function onExit(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('close', () => resolve()));
}

async function terminate(child: ChildProcess, closed: Promise<void>, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode === null && child.signalCode === null) {
    child.kill(signal);
    const grace = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
    await closed;
    clearTimeout(grace);
  }
  await closed;
}

class MosquittoProcess implements MosquittoBroker {
  private child: ChildProcess | null = null;
  private closed: Promise<void> = Promise.resolve();
  private log = '';
  private confDir = '';

  constructor(
    public port: number,
    private readonly binary: string,
  ) {}

  async start(): Promise<void> {
    this.confDir = makeTempDir('mosquitto');
    writeFileSync(
      join(this.confDir, 'mosquitto.conf'),
      [
        `listener ${this.port} 127.0.0.1`,
        'allow_anonymous true',
        'persistence false',
        'log_dest stderr',
        'log_type all',
        '',
      ].join('\n'),
    );
    this.log = '';
    const child = spawn(this.binary, ['-c', join(this.confDir, 'mosquitto.conf')], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    this.closed = onExit(child);
    for (const stream of [child.stdout, child.stderr]) {
      createInterface({ input: stream! }).on('line', (line) => {
        this.log = (this.log + line + '\n').slice(-STDERR_KEEP_CHARS);
        if (debug) process.stderr.write(`[mosquitto ${child.pid}] ${line}\n`);
      });
    }
    let spawnError: Error | null = null;
    child.once('error', (err) => (spawnError = err));

    const listening = async () => {
      if (spawnError) throw new Error(`could not run ${this.binary}: ${(spawnError as Error).message}`);
      if (child.exitCode !== null || child.signalCode !== null) {
        const clash = /Address already in use/.test(this.log);
        throw Object.assign(new Error(`mosquitto exited before listening on ${this.port} (code ${child.exitCode}):\n${this.log}`), { clash });
      }
      // Its own word that the listener is open, so a stranger on the port is not taken for it.
      return / running$/m.test(this.log) && canConnect(this.port);
    };
    try {
      await until(() => `mosquitto to accept connections on ${this.port}:\n${this.log}`, listening, START_TIMEOUT_MS);
    } catch (err) {
      if (spawnError) {
        // Never started: there is no process to wait for.
        this.child = null;
        removeTempDir(this.confDir);
      } else {
        await this.halt('SIGKILL');
      }
      throw err;
    }
  }

  async stop(): Promise<void> {
    await this.halt('SIGTERM');
  }

  async kill(): Promise<void> {
    await this.halt('SIGKILL');
  }

  async restart(): Promise<void> {
    await this.halt('SIGTERM');
    await this.start();
  }

  private async halt(signal: NodeJS.Signals): Promise<void> {
    if (this.child === null) return;
    await terminate(this.child, this.closed, signal);
    this.child = null;
    removeTempDir(this.confDir);
  }
}

/** Tries on a port of its own choosing before giving up; each clash means another process took the port first. */
const PORT_ATTEMPTS = 5;

/**
 * Runs a real mosquitto broker on 127.0.0.1 (a free port unless given); resolves once it accepts TCP.
 * mosquitto cannot listen on port 0 and report the port, so a port is picked and, when another
 * process binds it first, picked again.
 */
export async function startMosquitto(opts: { port?: number } = {}): Promise<MosquittoBroker> {
  const binary = requireTool('mosquitto', 'mosquitto');
  for (let attempt = 1; ; attempt++) {
    const broker = new MosquittoProcess(opts.port ?? (await freePort()), binary);
    try {
      await broker.start();
      return broker;
    } catch (err) {
      if (opts.port !== undefined || !(err as { clash?: boolean }).clash || attempt >= PORT_ATTEMPTS) throw err;
    }
  }
}

export interface ClientAuth {
  port: number;
  username?: string;
  password?: string;
  clientId?: string;
}

function clientArgs(opts: ClientAuth): string[] {
  const args = ['-h', '127.0.0.1', '-p', String(opts.port), '-V', 'mqttv311'];
  if (opts.username !== undefined) args.push('-u', opts.username);
  if (opts.password !== undefined) args.push('-P', opts.password);
  if (opts.clientId !== undefined) args.push('-i', opts.clientId);
  return args;
}

// One line per message: marker, retain flag, QoS, payload as hex (safe for any bytes), then the
// topic last so that spaces in it need no escaping.
const MESSAGE_MARKER = 'GATEHOUSE-MSG';
const MESSAGE_FORMAT = `${MESSAGE_MARKER} %r %q %x %t`;
const MESSAGE_LINE = new RegExp(`^${MESSAGE_MARKER} ([01]) ([012]) ([0-9a-f]*) (.*)$`);
// Printed by mosquitto_sub -d when the SUBACK arrives, e.g. "Subscribed (mid: 1): 1, 128".
const SUBACK_LINE = /^Subscribed \(mid: \d+\): (.*)$/;

class MosquittoSubscriber implements Subscriber {
  readonly messages: SubMessage[] = [];
  granted: number[] = [];
  private stderrText = '';
  private readonly waiters = new Set<{ pred(m: SubMessage): boolean; resolve(m: SubMessage): void }>();
  private child: ChildProcess | null = null;
  private closed: Promise<void> = Promise.resolve();

  get exitCode(): number | null {
    return this.child?.exitCode ?? null;
  }

  get stderr(): string {
    return this.stderrText;
  }

  /** Resolves once subscribed, or once mosquitto_sub exited (check exitCode and stderr). */
  start(binary: string, args: string[]): Promise<void> {
    const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    this.closed = onExit(child);
    createInterface({ input: child.stderr! }).on('line', (line) => {
      this.stderrText = (this.stderrText + line + '\n').slice(-STDERR_KEEP_CHARS);
      if (debug) process.stderr.write(`[mosquitto_sub ${child.pid}] ${line}\n`);
    });
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`mosquitto_sub got no SUBACK within ${CLIENT_TIMEOUT_MS} ms; stderr:\n${this.stderrText}`));
      }, CLIENT_TIMEOUT_MS);
      child.once('error', (err) => {
        clearTimeout(timer);
        reject(new Error(`could not run ${binary}: ${err.message}`));
      });
      this.closed.then(() => {
        clearTimeout(timer);
        resolve();
      });
      createInterface({ input: child.stdout! }).on('line', (line) => {
        const message = MESSAGE_LINE.exec(line);
        if (message) {
          this.record(message);
          return;
        }
        if (debug) process.stderr.write(`[mosquitto_sub ${child.pid}] ${line}\n`);
        const suback = SUBACK_LINE.exec(line);
        if (suback) {
          this.granted = suback[1].split(',').map((code) => Number(code.trim()));
          clearTimeout(timer);
          resolve();
        }
      });
    });
  }

  waitFor(pred: (m: SubMessage) => boolean, timeoutMs = DEFAULT_WAIT_MS): Promise<SubMessage> {
    const seen = this.messages.find(pred);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const waiter = {
        pred,
        resolve: (m: SubMessage) => {
          clearTimeout(timer);
          this.waiters.delete(waiter);
          resolve(m);
        },
      };
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        const recent = this.messages.slice(-10).map((m) => `${m.topic} r${Number(m.retain)} q${m.qos} ${m.text}`);
        reject(
          new Error(
            `mosquitto_sub saw no matching message within ${timeoutMs} ms; last messages:\n  ${recent.join('\n  ') || '(none)'}` +
              (this.exitCode !== null ? `\nmosquitto_sub exited ${this.exitCode}: ${this.stderrText}` : ''),
          ),
        );
      }, timeoutMs);
      this.waiters.add(waiter);
    });
  }

  async stop(): Promise<void> {
    if (this.child !== null) await terminate(this.child, this.closed, 'SIGTERM');
  }

  private record(match: RegExpExecArray): void {
    const payload = Buffer.from(match[3], 'hex');
    const message: SubMessage = {
      retain: match[1] === '1',
      qos: Number(match[2]),
      payload,
      text: payload.toString('utf8'),
      topic: match[4],
    };
    this.messages.push(message);
    for (const waiter of [...this.waiters]) if (waiter.pred(message)) waiter.resolve(message);
  }
}

/**
 * Runs mosquitto_sub on the given topics (QoS 2 subscription unless `qos` says otherwise, so each
 * message arrives at the QoS it was published with). `persistent`: CleanSession=0 (`-c`, needs a
 * clientId). Resolves once the SUBACK arrived, or once mosquitto_sub exited (e.g. refused CONNACK:
 * look at exitCode and stderr).
 */
export async function mosquittoSub(opts: ClientAuth & { topics: string[]; qos?: 0 | 1 | 2; persistent?: boolean }): Promise<Subscriber> {
  const binary = requireTool('mosquitto_sub', 'mosquitto-clients');
  // mosquitto_sub block-buffers its -d lines on a pipe; stdbuf (which execs it, so the pid and
  // exit code stay mosquitto_sub's) makes stdout line-buffered so the SUBACK line arrives at once.
  const stdbuf = requireTool('stdbuf', 'coreutils');
  const args = ['-oL', binary, ...clientArgs(opts), '-d', '-q', String(opts.qos ?? 2), '-F', MESSAGE_FORMAT];
  if (opts.persistent) args.push('-c');
  for (const topic of opts.topics) args.push('-t', topic);
  const subscriber = new MosquittoSubscriber();
  await subscriber.start(stdbuf, args);
  return subscriber;
}

/** Publishes one message with mosquitto_pub; resolves with its exit code and stderr. */
export function mosquittoPub(
  opts: ClientAuth & { topic: string; message: string | Buffer; qos?: 0 | 1 | 2; retain?: boolean },
): Promise<{ code: number; stderr: string }> {
  const binary = requireTool('mosquitto_pub', 'mosquitto-clients');
  const payload = typeof opts.message === 'string' ? Buffer.from(opts.message, 'utf8') : opts.message;
  const args = [...clientArgs(opts), '-t', opts.topic, '-q', String(opts.qos ?? 0)];
  if (opts.retain) args.push('-r');
  // -s sends stdin as the payload, so any bytes pass unchanged; -n sends a zero-length payload.
  args.push(payload.length === 0 ? '-n' : '-s');
  return new Promise((resolve, reject) => {
    const child = spawn(binary, args, { stdio: ['pipe', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.stdin.on('error', () => {});
    const timer = setTimeout(() => child.kill('SIGKILL'), CLIENT_TIMEOUT_MS);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`could not run ${binary}: ${err.message}`));
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? (signal === 'SIGKILL' ? 137 : 1), stderr });
    });
    child.stdin.end(payload.length === 0 ? undefined : payload);
  });
}
