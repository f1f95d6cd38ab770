// The broker's persistence (issue 13): QoS 1 fan-out to 10 persistent subscribers (CleanSession=0,
// QoS 1 subscriptions), gatehouse's broker with broker.persistence memory and sqlite, beside
// mosquitto with `persistence true`, all measured in the same run:
// - online: the subscribers connected; messages per second from the first PUBLISH until every
//   subscriber has every message (a publisher with up to WINDOW unacknowledged);
// - offline: the subscribers away; messages per second until the publisher has every PUBACK (each
//   message stored for 10 sessions), then per second until all 10, reconnected, have every one.
// gatehouse's broker runs in a child process of its own (as mosquitto does), the MQTT.js clients
// in this one. Figures only, no thresholds.
//
// usage: node --import tsx test/bench/broker-persistence-bench.ts [--messages N] [--json]
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import mqtt, { type MqttClient } from 'mqtt';
import pino from 'pino';
import { Broker } from '../../src/broker/broker.js';
import { openDatabase } from '../../src/store/database.js';
import { GroupCommit } from '../../src/store/group-commit.js';
import { SqliteBrokerState } from '../../src/store/sqlite-broker-state.js';
import { canConnect, freePort } from '../support/ports.js';
import { requireTool } from '../support/require-tool.js';

const SELF = fileURLToPath(import.meta.url);
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SUBSCRIBERS = 10;
const WINDOW = 100;
const QUEUE_LIMIT = 100_000;
const TOPIC = 'bench/site/gate/gate-0001/event';
const PAYLOAD = Buffer.from(JSON.stringify({ event: 'door_opened', kind: 'gate', device: 'gate-0001', at: 1795405724641, note: 'x'.repeat(60) }));
const STEP_TIMEOUT_MS = 180_000;

const progress = (msg: string) => process.stderr.write(`[broker-persistence-bench] ${msg}\n`);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function argument(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

function withTimeout<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} took longer than ${STEP_TIMEOUT_MS} ms`)), STEP_TIMEOUT_MS);
    }),
  ]).finally(() => clearTimeout(timer));
}

// ---------------------------------------------------------------------------------------------
// The brokers

interface BrokerUnderBench {
  name: string;
  port: number;
  stop(): Promise<void>;
}

/** In the child: gatehouse's broker, anonymous clients allowed on bench/#, prints its port. */
async function serve(persistence: 'memory' | 'sqlite', dir: string): Promise<void> {
  let state: SqliteBrokerState | undefined;
  let close = () => undefined as void;
  if (persistence === 'sqlite') {
    const db = openDatabase(dir);
    const commits = new GroupCommit(db);
    state = new SqliteBrokerState(db, commits.run, { error: () => undefined });
    close = () => {
      commits.flush();
      db.close();
    };
  }
  const broker = new Broker(
    {
      host: '127.0.0.1',
      port: 0,
      anonymous: { enabled: true, publish: ['bench/#'], subscribe: ['bench/#'] },
      users: [],
      limits: { maxQueuedMessages: QUEUE_LIMIT },
      ...(state ? { state } : {}),
    },
    { classify: () => ({ type: 'other' }), onCommand: () => undefined, onSecurityEvent: () => undefined },
    pino({ level: 'warn' }),
  );
  await broker.start();
  process.stdout.write(`port ${broker.port}\n`);
  process.once('SIGTERM', () => {
    void broker.stop().then(() => {
      close();
      process.exit(0);
    });
  });
}

async function startGatehouse(persistence: 'memory' | 'sqlite'): Promise<BrokerUnderBench> {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-broker-bench-'));
  const child = spawn(process.execPath, ['--import', 'tsx', SELF, '--serve', persistence, dir], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`gatehouse broker exited (${code}) before listening`)));
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const m = /^port (\d+)$/.exec(line);
      if (m) resolve(Number(m[1]));
    });
  });
  return { name: `gatehouse, broker.persistence: ${persistence}`, port, stop: () => stopChild(child, dir) };
}

async function startMosquittoPersistent(): Promise<BrokerUnderBench> {
  const binary = requireTool('mosquitto', 'mosquitto');
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-mosquitto-bench-'));
  const port = await freePort();
  writeFileSync(
    join(dir, 'mosquitto.conf'),
    [`listener ${port} 127.0.0.1`, 'allow_anonymous true', 'persistence true', `persistence_location ${dir}/`, `max_queued_messages ${QUEUE_LIMIT}`, 'max_inflight_messages 0', 'log_dest none', ''].join('\n'),
  );
  const child = spawn(binary, ['-c', join(dir, 'mosquitto.conf')], { stdio: ['ignore', 'ignore', 'inherit'] });
  for (let i = 0; !(await canConnect(port)); i++) {
    if (i > 200 || child.exitCode !== null) throw new Error('mosquitto did not start');
    await sleep(25);
  }
  return { name: 'mosquitto 2, persistence true', port, stop: () => stopChild(child, dir) };
}

async function stopChild(child: ChildProcess, dir: string): Promise<void> {
  if (child.exitCode === null && child.signalCode === null) {
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(timer);
  }
  rmSync(dir, { recursive: true, force: true });
}

// ---------------------------------------------------------------------------------------------
// The clients

function noDelay(client: MqttClient): void {
  const socket = client.stream as unknown as Partial<Socket> | undefined;
  if (typeof socket?.setNoDelay === 'function') socket.setNoDelay(true);
}

async function connect(port: number, clientId: string, clean: boolean, onMessage?: () => void): Promise<MqttClient> {
  const client = mqtt.connect({ host: '127.0.0.1', port, protocolVersion: 4, clean, clientId, reconnectPeriod: 0 });
  noDelay(client);
  if (onMessage) client.on('message', onMessage);
  await new Promise<void>((resolve, reject) => {
    client.once('connect', () => resolve());
    client.once('error', reject);
  });
  noDelay(client);
  return client;
}

/** Publishes `count` messages at QoS 1 with at most WINDOW unacknowledged; resolves at the last PUBACK. */
function publishAll(client: MqttClient, count: number): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let sent = 0;
    let acked = 0;
    const next = () => {
      sent++;
      client.publish(TOPIC, PAYLOAD, { qos: 1 }, (err) => {
        if (err) return reject(err);
        if (++acked === count) return resolve();
        if (sent < count) next();
      });
    };
    for (let i = 0; i < Math.min(WINDOW, count); i++) next();
  });
}

interface Figures {
  broker: string;
  online_msgs_per_s: number;
  online_deliveries_per_s: number;
  offline_store_msgs_per_s: number;
  offline_drain_msgs_per_s: number;
}

async function measure(target: BrokerUnderBench, messages: number): Promise<Figures> {
  const tag = `${process.pid}-${target.port}`;
  const received = new Array<number>(SUBSCRIBERS).fill(0);
  const subscriberIds = Array.from({ length: SUBSCRIBERS }, (_, i) => `bench-sub-${i}-${tag}`);
  let subscribers = await Promise.all(subscriberIds.map((id, i) => connect(target.port, id, false, () => void received[i]++)));
  await Promise.all(subscribers.map((s) => s.subscribeAsync(TOPIC, { qos: 1 })));
  const publisher = await connect(target.port, `bench-pub-${tag}`, true);
  const allReceived = (n: number) => new Promise<void>((resolve) => {
    const check = () => (received.every((r) => r >= n) ? resolve() : setTimeout(check, 2));
    check();
  });

  progress(`${target.name}: online fan-out, ${messages} messages to ${SUBSCRIBERS} subscribers`);
  let started = performance.now();
  await withTimeout(Promise.all([publishAll(publisher, messages), allReceived(messages)]), 'online fan-out');
  const online = (performance.now() - started) / 1000;

  progress(`${target.name}: subscribers away, ${messages} messages stored for each`);
  await Promise.all(subscribers.map((s) => s.endAsync()));
  received.fill(0);
  started = performance.now();
  await withTimeout(publishAll(publisher, messages), 'offline publish');
  const stored = (performance.now() - started) / 1000;

  progress(`${target.name}: subscribers back, draining their queues`);
  started = performance.now();
  subscribers = await Promise.all(subscriberIds.map((id, i) => connect(target.port, id, false, () => void received[i]++)));
  await withTimeout(allReceived(messages), 'drain');
  const drained = (performance.now() - started) / 1000;

  await Promise.all([...subscribers, publisher].map((c) => c.endAsync()));
  return {
    broker: target.name,
    online_msgs_per_s: Math.round(messages / online),
    online_deliveries_per_s: Math.round((messages * SUBSCRIBERS) / online),
    offline_store_msgs_per_s: Math.round(messages / stored),
    offline_drain_msgs_per_s: Math.round((messages * SUBSCRIBERS) / drained),
  };
}

export async function runBrokerPersistenceBench(messages = 2000): Promise<Figures[]> {
  const figures: Figures[] = [];
  for (const start of [() => startGatehouse('memory'), () => startGatehouse('sqlite'), startMosquittoPersistent]) {
    const target = await start();
    try {
      figures.push(await measure(target, messages));
    } finally {
      await target.stop();
    }
  }
  const rows = figures.map((f) => `${f.broker.padEnd(34)} ${String(f.online_msgs_per_s).padStart(9)} ${String(f.online_deliveries_per_s).padStart(12)} ${String(f.offline_store_msgs_per_s).padStart(11)} ${String(f.offline_drain_msgs_per_s).padStart(12)}`);
  process.stdout.write(
    [
      `QoS 1 fan-out to ${SUBSCRIBERS} persistent subscribers, ${messages} messages of ${PAYLOAD.length} bytes, publisher window ${WINDOW}`,
      `${'broker'.padEnd(34)} ${'online msg/s'.padStart(9)} ${'deliveries/s'.padStart(12)} ${'stored msg/s'.padStart(11)} ${'drained msg/s'.padStart(12)}`,
      ...rows,
      '',
    ].join('\n'),
  );
  return figures;
}

if (process.argv[1] === SELF) {
  const serveAt = process.argv.indexOf('--serve');
  if (serveAt >= 0) {
    void serve(process.argv[serveAt + 1] as 'memory' | 'sqlite', process.argv[serveAt + 2]);
  } else {
    runBrokerPersistenceBench(argument('--messages', 2000)).then(
      (figures) => {
        if (process.argv.includes('--json')) process.stdout.write(JSON.stringify(figures) + '\n');
      },
      (err: unknown) => {
        process.stderr.write(`broker-persistence-bench failed: ${(err as Error).stack ?? String(err)}\n`);
        process.exit(1);
      },
    );
  }
}
