// Frame fuzzing of the embedded broker: thousands of connections, each a stream of random, broken
// or mutated MQTT 3.1.1 packets (test/support/mqtt-fuzz.ts), spread over its TCP, TLS and WebSocket
// listeners, against gatehouse's broker running in a child process with --expose-gc. Throughout, a well-behaved MQTT.js client must keep its service;
// every fuzz connection must be closed by the server; memory must come back to its baseline.
// Replay a run with GATEHOUSE_FUZZ_SEED=<seed>; single cases with GATEHOUSE_FUZZ_CASES=<i,j,...>.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import type { Duplex } from 'node:stream';
import { readFileSync } from 'node:fs';
import { connect as netConnect } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { test, type TestContext } from 'node:test';
import type { MqttClient } from 'mqtt';
import { WebSocket, createWebSocketStream } from 'ws';
import {
  CaseHangError,
  describeCase,
  fuzzSeed,
  generateCase,
  playCase,
  type CaseOutcome,
  type FuzzCase,
  type FuzzOptions,
  type FuzzTransport,
} from '../support/mqtt-fuzz.js';
import { DEFAULT_BROKER_LIMITS } from '../../src/broker/broker.js';
import { FrameSplitter } from '../../src/broker/guards/frames.js';
import { makePki, type TestPki } from '../uplink/certificates.js';
import { WAIT_MS, connectPacket, mqttClient, pingreqPacket, waitFor } from './support.js';

const ROOT = new URL('../../', import.meta.url).pathname;
const MiB = 1024 * 1024;

// Budgeted by count: about 20-40 s on a loaded 2-core machine.
const WARMUP_CONNECTIONS = 300;
const BATCHES = 8;
const CONNECTIONS_PER_BATCH = Number(process.env.GATEHOUSE_FUZZ_BATCH ?? 400);
const CONCURRENCY = 16;
/** Generous: a server that has not closed by then after our FIN keeps the connection hanging. */
const CLOSE_WAIT_MS = 30_000;
const MEMORY_SLACK_BYTES = 16 * MiB;

const FUZZ_OPTIONS: FuzzOptions = {
  maxPacketBytes: DEFAULT_BROKER_LIMITS.maxPacketBytes,
  maxTopicLevels: DEFAULT_BROKER_LIMITS.maxTopicLevels,
  clientIdPrefix: 'fz-',
  login: { username: 'spy', password: 'spy-secret' },
};

// ---------------------------------------------------------------------------------------------
// The broker under test, in a child process so its heap can be measured after a forced GC.

interface BrokerStats {
  heapUsed: number;
  arrayBuffers: number;
  connectedClients: number;
  /** Open TCP sockets in the child: the listener's accepted connections. */
  sockets: number;
  violations: Record<string, number>;
  warnings: Record<string, number>;
  errors: string[];
}

interface Ports {
  tcp: number;
  tls: number;
  ws: number;
}

const WS_PATH = '/mqtt';

const BROKER_CHILD = `
import pino from 'pino';
import { Broker } from './src/broker/broker.ts';
import { classifyTopic } from './src/topics.ts';
import { testUsers } from './test/broker/support.ts';

const violations = {};
const warnings = {};
const errors = [];
const log = pino({ level: 'warn' }, {
  write(line) {
    const l = JSON.parse(line);
    if (l.level >= 50) errors.push(l.msg + ' ' + JSON.stringify(l.err ?? ''));
    else if (l.msg === 'mqtt protocol violation; closing connection') violations[l.clause] = (violations[l.clause] ?? 0) + 1;
    else {
      const key = (l.msg + (l.err?.message ? ': ' + l.err.message : '')).slice(0, 100);
      if (key in warnings || Object.keys(warnings).length < 60) warnings[key] = (warnings[key] ?? 0) + 1;
    }
  },
});
const pki = JSON.parse(process.env.FUZZ_PKI);
const broker = new Broker(
  {
    host: '127.0.0.1',
    port: 0,
    anonymous: { enabled: true, publish: ['#'], subscribe: ['#'] },
    users: await testUsers(),
    // Fuzzed CONNECTs carry wrong passwords now and then: a lockout of 127.0.0.1 would refuse
    // every later login, the well-behaved client's included.
    login: { maxFailuresPerAddress: 0, maxFailuresPerUsername: 0 },
    listeners: {
      tls: { enabled: true, host: '127.0.0.1', port: 0 },
      ws: { enabled: true, host: '127.0.0.1', port: 0, path: '${WS_PATH}' },
      certificates: { cert: pki.cert, key: pki.key, clientCertificates: 'off', identityFrom: 'cn' },
    },
  },
  { classify: (t) => classifyTopic('hq', t), onCommand: () => {}, onSecurityEvent: () => {} },
  log,
);
await broker.start();
const settle = () => new Promise((r) => setImmediate(r));
process.on('message', async (m) => {
  if (m.cmd === 'stats') {
    if (m.gc) for (let i = 0; i < 4; i++) { globalThis.gc(); await settle(); }
    const mem = process.memoryUsage();
    process.send({ type: 'stats', stats: {
      heapUsed: mem.heapUsed,
      arrayBuffers: mem.arrayBuffers,
      connectedClients: broker.connectedClients(),
      sockets: process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap').length,
      violations, warnings, errors,
    } });
  } else if (m.cmd === 'stop') {
    await broker.stop();
    process.disconnect();
  }
});
process.send({ type: 'ready', ports: broker.ports() });
`;

class BrokerProcess {
  private child: ChildProcess | null = null;
  private stderr = '';
  private exitInfo: string | null = null;
  private readonly waiters: ((stats: BrokerStats) => void)[] = [];
  ports: Ports = { tcp: 0, tls: 0, ws: 0 };

  async start(t: TestContext, pki: TestPki): Promise<void> {
    const child = spawn(process.execPath, ['--expose-gc', '--import', 'tsx', '--input-type=module', '-e', BROKER_CHILD], {
      cwd: ROOT,
      env: { ...process.env, FUZZ_PKI: JSON.stringify({ cert: pki.serverCert, key: pki.serverKey }) },
      stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
    });
    this.child = child;
    child.stderr!.on('data', (d) => (this.stderr = (this.stderr + d).slice(-20_000)));
    child.once('exit', (code, signal) => (this.exitInfo = `broker process exited (code ${code}, signal ${signal}); stderr:\n${this.stderr}`));
    t.after(() => this.stop());
    const ready = new Promise<Ports>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`broker process not ready within 60 s; stderr:\n${this.stderr}`)), 60_000);
      child.on('message', (m: { type: string; ports?: Ports; stats?: BrokerStats }) => {
        if (m.type === 'ready') {
          clearTimeout(timer);
          resolve(m.ports!);
        } else if (m.type === 'stats') this.waiters.shift()?.(m.stats!);
      });
      child.once('exit', () => {
        clearTimeout(timer);
        reject(new Error(this.exitInfo ?? 'broker process exited'));
      });
    });
    this.ports = await ready;
  }

  /** Throws if the broker process has died. */
  assertAlive(): void {
    if (this.exitInfo !== null) throw new Error(this.exitInfo);
  }

  stats(gc = false): Promise<BrokerStats> {
    this.assertAlive();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no stats from the broker process within ${WAIT_MS * 3} ms`)), WAIT_MS * 3);
      this.waiters.push((s) => {
        clearTimeout(timer);
        resolve(s);
      });
      this.child!.send({ cmd: 'stats', gc });
    });
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.send({ cmd: 'stop' });
    const timer = setTimeout(() => child.kill('SIGKILL'), WAIT_MS);
    await exited;
    clearTimeout(timer);
  }
}

// ---------------------------------------------------------------------------------------------
// Transports: each listener of the broker is one way in for the fuzz connections.

/** Resolves with `stream` once `event` fires; rejects on error or after WAIT_MS. */
function opened<T extends Duplex>(stream: T, event: string, what: string, destroy: () => void): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => (destroy(), reject(new Error(`${what} connect timed out`))), WAIT_MS);
    stream.once(event, () => (clearTimeout(timer), resolve(stream)));
    stream.once('error', (err) => (clearTimeout(timer), reject(err)));
  });
}

function fuzzTransports(ports: Ports, pki: TestPki): FuzzTransport[] {
  const ca = readFileSync(pki.ca);
  return [
    {
      name: 'tcp',
      connect: () => {
        const socket = netConnect({ host: '127.0.0.1', port: ports.tcp, noDelay: true });
        return opened(socket, 'connect', 'tcp', () => socket.destroy());
      },
    },
    {
      name: 'tls',
      connect: () => {
        const socket = tlsConnect({ host: '127.0.0.1', port: ports.tls, ca, servername: 'localhost' });
        return opened(socket, 'secureConnect', 'tls', () => socket.destroy());
      },
    },
    {
      // MQTT over WebSocket (MQTT 3.1.1 section 6): every write is one binary message.
      name: 'ws',
      connect: async () => {
        const ws = new WebSocket(`ws://127.0.0.1:${ports.ws}${WS_PATH}`, 'mqtt');
        await new Promise<void>((resolve, reject) => {
          const timer = setTimeout(() => (ws.terminate(), reject(new Error('ws connect timed out'))), WAIT_MS);
          ws.once('open', () => (clearTimeout(timer), resolve()));
          ws.once('error', (err) => (clearTimeout(timer), reject(err)));
        });
        const stream = createWebSocketStream(ws);
        // ws's stream finishes its writable side only once the socket has flushed; if the server
        // drops the connection while our end() is pending it never does, and the stream never
        // emits 'close'. The WebSocket's own 'close' is the server-side close we wait for.
        ws.once('close', () => stream.destroy());
        return stream;
      },
    },
  ];
}

// ---------------------------------------------------------------------------------------------
// The well-behaved client

class Probe {
  disconnected: string | null = null;
  private readonly received = new Set<string>();
  private n = 0;

  private constructor(private readonly client: MqttClient) {
    client.on('message', (_topic, payload) => this.received.add(payload.toString()));
    client.on('close', () => (this.disconnected ??= 'close'));
    client.on('offline', () => (this.disconnected ??= 'offline'));
    client.on('disconnect', () => (this.disconnected ??= 'disconnect (server sent DISCONNECT)'));
    client.on('error', (err) => (this.disconnected ??= `error: ${err.message}`));
  }

  static async start(t: TestContext, port: number): Promise<Probe> {
    const client = await mqttClient(t, port, { username: 'operator', password: 'op-secret', clientId: 'probe', keepalive: 30 });
    const probe = new Probe(client);
    await client.subscribeAsync('chat/probe', { qos: 1 });
    return probe;
  }

  /** Publishes at QoS 0 and 1 and waits for both to come back. */
  async roundTrip(label: string): Promise<void> {
    assert.equal(this.disconnected, null, `the well-behaved client lost its connection (${this.disconnected}) before ${label}`);
    const payloads = [0, 1].map((qos) => `${label}#${this.n++}-q${qos}`);
    await this.client.publishAsync('chat/probe', payloads[0], { qos: 0 });
    await this.client.publishAsync('chat/probe', payloads[1], { qos: 1 });
    await waitFor(`the well-behaved client's own messages (${label})`, () => payloads.every((p) => this.received.has(p)), WAIT_MS * 3);
    assert.equal(this.disconnected, null, `the well-behaved client lost its connection (${this.disconnected}) during ${label}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Running cases

interface RunTally {
  cases: number;
  frames: number;
  bytes: number;
  byCategory: Record<string, number>;
  closedBy: Record<CaseOutcome['closedBy'], number>;
  hangs: string[];
  failures: string[];
}

function newTally(): RunTally {
  return { cases: 0, frames: 0, bytes: 0, byCategory: {}, closedBy: { server: 0, 'after-fin': 0, reset: 0 }, hangs: [], failures: [] };
}

async function runCases(indices: number[], seed: number, transports: FuzzTransport[], tally: RunTally): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < indices.length) {
      const index = indices[next++];
      const c: FuzzCase = generateCase(seed, index, FUZZ_OPTIONS);
      const transport = transports[index % transports.length];
      tally.cases++;
      tally.frames += c.frames;
      tally.bytes += c.writes.reduce((n, w) => n + w.length, 0);
      tally.byCategory[c.category] = (tally.byCategory[c.category] ?? 0) + 1;
      try {
        const outcome = await playCase(c, transport, CLOSE_WAIT_MS);
        tally.closedBy[outcome.closedBy]++;
      } catch (err) {
        const line = `[${transport.name}] ${describeCase(c)}: ${(err as Error).message}`;
        (err instanceof CaseHangError ? tally.hangs : tally.failures).push(line);
      }
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
}

/** CONNECT, CONNACK 0, PINGREQ, PINGRESP over a fresh connection of `transport`. */
async function assertServes(transport: FuzzTransport): Promise<void> {
  const stream = await transport.connect();
  let received = Buffer.alloc(0);
  stream.on('data', (d: Buffer) => (received = Buffer.concat([received, d])));
  stream.on('error', () => {});
  const CONNACK_OK = Buffer.from([0x20, 0x02, 0x00, 0x00]);
  const PINGRESP = Buffer.from([0xd0, 0x00]);
  try {
    stream.write(connectPacket({ clientId: `after-fuzz-${transport.name}` }));
    await waitFor(`CONNACK over ${transport.name}`, () => received.length >= 4, WAIT_MS * 3);
    assert.deepEqual(received.subarray(0, 4), CONNACK_OK, `${transport.name}: a session after the fuzz`);
    stream.write(pingreqPacket());
    await waitFor(`PINGRESP over ${transport.name}`, () => received.length >= 6, WAIT_MS * 3);
    assert.deepEqual(received.subarray(4, 6), PINGRESP);
  } finally {
    stream.destroy();
  }
}

function range(from: number, count: number): number[] {
  return Array.from({ length: count }, (_, i) => from + i);
}

async function waitForOnlyProbe(broker: BrokerProcess): Promise<BrokerStats> {
  let last: BrokerStats | undefined;
  const deadline = Date.now() + CLOSE_WAIT_MS * 2;
  for (;;) {
    last = await broker.stats();
    if (last.connectedClients === 1 && last.sockets === 1) return last;
    if (Date.now() > deadline) {
      throw new Error(`fuzz connections left open: ${last.connectedClients} MQTT clients, ${last.sockets} sockets (expected only the well-behaved client)`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

const fmt = (bytes: number) => `${(bytes / MiB).toFixed(1)} MiB`;

test('generated cases are a pure function of seed and index (a printed seed replays the run)', () => {
  for (const index of [0, 1, 77, 4242]) {
    const a = generateCase(12345, index, FUZZ_OPTIONS);
    const b = generateCase(12345, index, FUZZ_OPTIONS);
    assert.deepEqual(a, b);
  }
  const categories = new Set(range(0, 2000).map((i) => generateCase(1, i, FUZZ_OPTIONS).category));
  assert.ok(categories.size >= 15, `2000 cases cover ${categories.size} categories`);
  assert.notDeepEqual(generateCase(1, 5, FUZZ_OPTIONS).writes, generateCase(2, 5, FUZZ_OPTIONS).writes);
});

test('frame fuzz: the broker stays up, serves a well-behaved client, closes every fuzz connection, and returns to its memory baseline', async (t) => {
  const seed = fuzzSeed('broker frame fuzz');
  const only = process.env.GATEHOUSE_FUZZ_CASES?.split(',').filter(Boolean).map(Number);
  const started = Date.now();
  const pki = makePki();
  t.after(() => pki.dispose());
  const broker = new BrokerProcess();
  await broker.start(t, pki);
  const transports = fuzzTransports(broker.ports, pki);
  const probe = await Probe.start(t, broker.ports.tcp);
  await probe.roundTrip('start');

  const tally = newTally();
  const batches: number[][] = only ? [only] : range(0, BATCHES).map((b) => range(WARMUP_CONNECTIONS + b * CONNECTIONS_PER_BATCH, CONNECTIONS_PER_BATCH));
  if (!only) await runCases(range(0, WARMUP_CONNECTIONS), seed, transports, tally);
  await waitForOnlyProbe(broker);
  const baseline = await broker.stats(true);
  console.log(`[fuzz] baseline after warm-up (${tally.cases} connections) and GC: heapUsed ${fmt(baseline.heapUsed)}, arrayBuffers ${fmt(baseline.arrayBuffers)}`);

  for (const [b, indices] of batches.entries()) {
    await runCases(indices, seed, transports, tally);
    broker.assertAlive();
    await probe.roundTrip(`batch ${b + 1}`);
    const s = await broker.stats();
    console.log(`[fuzz] batch ${b + 1}/${batches.length}: ${tally.cases} connections, ${tally.frames} frames; broker heapUsed ${fmt(s.heapUsed)}, ${s.connectedClients} clients, ${s.sockets} sockets`);
  }

  assert.deepEqual(tally.failures, [], `fuzz connections failed (seed ${seed}):\n${tally.failures.slice(0, 10).join('\n')}`);
  assert.deepEqual(tally.hangs, [], `connections the server did not close (seed ${seed}):\n${tally.hangs.slice(0, 10).join('\n')}`);
  const settled = await waitForOnlyProbe(broker);
  assert.equal(settled.connectedClients, 1);

  // Every listener still accepts, and a fresh client gets a session on each.
  for (const transport of transports) await assertServes(transport);
  await probe.roundTrip('end');
  await waitForOnlyProbe(broker);

  const after = await broker.stats(true);
  const heapDelta = after.heapUsed - baseline.heapUsed;
  const bufferDelta = after.arrayBuffers - baseline.arrayBuffers;
  console.log(
    `[fuzz] seed ${seed}: ${tally.cases} connections, ${tally.frames} frames, ${fmt(tally.bytes)} sent in ${((Date.now() - started) / 1000).toFixed(1)} s\n` +
      `[fuzz] closed: ${JSON.stringify(tally.closedBy)}; categories: ${JSON.stringify(tally.byCategory)}\n` +
      `[fuzz] violations by clause: ${JSON.stringify(after.violations)}\n` +
      `[fuzz] broker warnings: ${JSON.stringify(after.warnings)}\n` +
      `[fuzz] memory after GC: heapUsed ${fmt(baseline.heapUsed)} -> ${fmt(after.heapUsed)} (delta ${fmt(heapDelta)}), ` +
      `arrayBuffers ${fmt(baseline.arrayBuffers)} -> ${fmt(after.arrayBuffers)} (delta ${fmt(bufferDelta)}); bound +${fmt(MEMORY_SLACK_BYTES)}`,
  );
  assert.deepEqual(after.errors, [], 'the broker logged no internal errors');
  assert.ok(heapDelta <= MEMORY_SLACK_BYTES, `heap grew by ${fmt(heapDelta)} (seed ${seed})`);
  assert.ok(bufferDelta <= MEMORY_SLACK_BYTES, `buffers grew by ${fmt(bufferDelta)} (seed ${seed})`);
  assert.equal(probe.disconnected, null);
  broker.assertAlive();
});

// Found while building the fuzzer: FrameSplitter joined the buffered part of a packet with every
// new chunk, so a client dripping a 1 MiB PUBLISH in 64-byte writes cost the broker about 4 s of
// CPU (quadratic copying); now the chunks are joined once, when the packet is complete.
test('regression: a packet dripped one byte at a time is joined once, not copied again on every read', () => {
  const size = 256 * 1024;
  const body = Buffer.alloc(size - 5, 0x61);
  const packet = Buffer.concat([Buffer.from([0x30]), Buffer.from([0x80 | (body.length & 0x7f), 0x80 | ((body.length >> 7) & 0x7f), body.length >> 14]), body]);
  const splitter = new FrameSplitter(DEFAULT_BROKER_LIMITS.maxPacketBytes);
  const concat = Buffer.concat;
  let copied = 0;
  Buffer.concat = (list: readonly Uint8Array[], totalLength?: number) => {
    const out = concat(list, totalLength);
    copied += out.length;
    return out;
  };
  const frames = [];
  try {
    for (let i = 0; i < packet.length; i++) frames.push(...splitter.push(packet.subarray(i, i + 1)));
  } finally {
    Buffer.concat = concat;
  }
  assert.equal(frames.length, 1);
  assert.ok(frames[0].raw.equals(packet));
  assert.ok(copied <= 2 * packet.length, `${copied} bytes copied to reassemble a ${packet.length}-byte packet`);
});
