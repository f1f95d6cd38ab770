// The outbox and cloud link benchmark (issue 3), each figure beside a ceiling measured in the same run:
// - ingest: messages committed per second through the outbox (group commit, synchronous=FULL)
//   beside raw batched INSERTs into the same SQLite file;
// - drain: messages per second from an outbox holding 100k messages (an outage) to mosquitto on
//   loopback, beside a bare MQTT.js client publishing the same messages at QoS 1 to the same
//   mosquitto, with the same in-flight window and with a large one;
// - memory: peak RSS of a child process while 1M messages sit in the outbox, beside its RSS idle.
//
// usage: node --import tsx test/bench/outbox-bench.ts [--json]
// From another script: `const figures = await runOutboxBench()` (prints its own table to stdout,
// progress to stderr, and resolves with the figures).
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import mqtt, { type MqttClient } from 'mqtt';
import type { Socket } from 'node:net';
import { databasePath, openDatabase, type SqliteDatabase } from '../../src/store/database.js';
import { SqliteOutbox } from '../../src/store/sqlite-outbox.js';
import { CloudLink } from '../../src/uplink/cloud-link.js';
import type { OutboxMessage } from '../../src/uplink/outbox.js';
import { OutboxWriter } from '../../src/uplink/outbox-writer.js';
import { startMosquitto } from '../support/mosquitto.js';

const SELF = fileURLToPath(import.meta.url);
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const INGEST_COUNT = 200_000;
const DRAIN_COUNT = 100_000;
const RSS_COUNT = 1_000_000;
const WINDOW = 20;
/** A bare client's best case; MQTT allows 65535 unacknowledged at most (packet identifiers, section 2.3.1). */
const LARGE_WINDOW = 1000;
const TOPIC = 'site/bench-site/gate/gate-0001/event';
const PAYLOAD = Buffer.from(JSON.stringify({ event: 'door_opened', kind: 'gate', device: 'gate-0001', at: 1795405724641, note: 'x'.repeat(60) }));
const LIMITS = { maxMessages: 2_000_000, maxBytes: 2_000_000_000 };
const STEP_TIMEOUT_MS = 60_000;

const progress = (msg: string) => process.stderr.write(`[outbox-bench] ${msg}\n`);
const silent = { info() {}, warn() {}, error() {}, debug() {} };

function message(i: number): OutboxMessage {
  return { topic: TOPIC, payload: PAYLOAD, class: 'telemetry', createdAt: 1_795_405_000_000 + i };
}

function tempDataDir(): string {
  return mkdtempSync(join(tmpdir(), 'gatehouse-outbox-bench-'));
}

function rssMb(): number {
  return process.memoryUsage().rss / 1024 / 1024;
}

const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

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
// Ingest

/** Raw batched INSERTs of the same rows into the outbox table: what SQLite itself can do. */
function rawInsertRate(db: SqliteDatabase, count: number, batch: number): number {
  const insert = db.prepare('INSERT INTO outbox (created_at, class, topic, payload, bytes) VALUES (?, ?, ?, ?, ?)');
  const many = db.transaction((from: number, to: number) => {
    for (let i = from; i < to; i++) insert.run(1_795_405_000_000 + i, 3, TOPIC, PAYLOAD, TOPIC.length + PAYLOAD.length);
  });
  const started = performance.now();
  for (let i = 0; i < count; i += batch) many(i, Math.min(count, i + batch));
  return count / ((performance.now() - started) / 1000);
}

/** Messages handed to the writer `perTurn` at a time, one burst per event-loop turn, until all are committed. */
async function ingestRate(db: SqliteDatabase, count: number, perTurn: number): Promise<number> {
  const outbox = new SqliteOutbox(db, { limits: LIMITS, synchronous: 'FULL' });
  const writer = new OutboxWriter(outbox, silent);
  const started = performance.now();
  for (let i = 0; i < count; i += perTurn) {
    for (let j = i; j < Math.min(count, i + perTurn); j++) writer.enqueue(message(j));
    await turn();
  }
  writer.flush();
  const seconds = (performance.now() - started) / 1000;
  if (writer.stats().committed !== count) throw new Error(`ingest committed ${writer.stats().committed} of ${count}`);
  return count / seconds;
}

function emptyOutbox(db: SqliteDatabase): void {
  db.exec('DELETE FROM outbox');
  db.pragma('wal_checkpoint(TRUNCATE)');
}

// ---------------------------------------------------------------------------------------------
// Drain

function noDelay(client: MqttClient): void {
  const socket = client.stream as unknown as Partial<Socket> | undefined;
  if (typeof socket?.setNoDelay === 'function') socket.setNoDelay(true);
}

async function connectBare(port: number): Promise<MqttClient> {
  const client = mqtt.connect({ host: '127.0.0.1', port, protocolVersion: 4, clean: true, reconnectPeriod: 0, clientId: `bare-${process.pid}-${Date.now()}` });
  noDelay(client);
  await new Promise<void>((resolve, reject) => {
    client.once('connect', () => resolve());
    client.once('error', reject);
  });
  noDelay(client);
  return client;
}

/** A bare MQTT.js client publishing `count` messages at QoS 1, at most `window` unacknowledged. */
async function barePublishRate(port: number, count: number, window: number): Promise<number> {
  const client = await connectBare(port);
  try {
    const started = performance.now();
    await withTimeout(
      new Promise<void>((resolve, reject) => {
        let sent = 0;
        let acked = 0;
        const next = () => {
          const i = sent++;
          client.publish(TOPIC, PAYLOAD, { qos: 1 }, (err) => {
            if (err) return reject(err);
            if (++acked === count) return resolve();
            if (sent < count) next();
          });
        };
        for (let i = 0; i < Math.min(window, count); i++) next();
      }),
      'bare publish',
    );
    return count / ((performance.now() - started) / 1000);
  } finally {
    await client.endAsync(true);
  }
}

/** The outbox holds `count` messages (the outage); a CloudLink drains them into mosquitto. */
async function drainRate(port: number, count: number, ackSynchronous: 'FULL' | 'NORMAL'): Promise<number> {
  const dir = tempDataDir();
  const db = openDatabase(dir);
  try {
    const outbox = new SqliteOutbox(db, { limits: LIMITS, synchronous: 'FULL', ackSynchronous });
    for (let i = 0; i < count; i += 5000) outbox.append(Array.from({ length: Math.min(5000, count - i) }, (_, j) => message(i + j)));
    let acked = 0;
    let done: () => void = () => undefined;
    const finished = new Promise<void>((resolve) => (done = resolve));
    const ack = outbox.ack.bind(outbox);
    outbox.ack = (seqs) => {
      const n = ack(seqs);
      acked += n;
      if (acked >= count) done();
      return n;
    };
    const link = new CloudLink(
      {
        url: `mqtt://127.0.0.1:${port}`,
        clientId: `outbox-bench-${process.pid}`,
        keepaliveS: 30,
        connectTimeoutMs: 5000,
        will: { topic: 'site/bench-site/gateway/gw/availability', payload: 'offline' },
        subscriptions: [],
        inflight: WINDOW,
        backoff: { initialMs: 100, maxMs: 1000 },
      },
      outbox,
      { birth: () => [], onCommand: () => undefined },
      silent,
    );
    const started = performance.now();
    link.start();
    await withTimeout(finished, 'outbox drain');
    const rate = count / ((performance.now() - started) / 1000);
    await link.stop(0);
    return rate;
  } finally {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------
// Memory, in a child process so that the figures are its own

interface RssFigures {
  idle_rss_mb: number;
  loaded_rss_mb: number;
  peak_rss_mb: number;
  reopen_ms: number;
  file_mb: number;
}

async function rssChild(): Promise<void> {
  const dir = tempDataDir();
  try {
    const db = openDatabase(dir);
    const outbox = new SqliteOutbox(db, { limits: LIMITS, synchronous: 'FULL' });
    const writer = new OutboxWriter(outbox, silent);
    outbox.stats();
    global.gc?.();
    await turn();
    const idle = rssMb();
    for (let i = 0; i < RSS_COUNT; i += 1000) {
      for (let j = i; j < Math.min(RSS_COUNT, i + 1000); j++) writer.enqueue(message(j));
      await turn();
    }
    writer.flush();
    if (outbox.stats().depth !== RSS_COUNT) throw new Error(`expected ${RSS_COUNT} rows, found ${outbox.stats().depth}`);
    // Reopen (what a restart does with a full outbox), and send a window's worth.
    db.close();
    const started = performance.now();
    const reopened = new SqliteOutbox(openDatabase(dir), { limits: LIMITS, synchronous: 'FULL' });
    const reopenMs = performance.now() - started;
    const rows = reopened.take(WINDOW);
    reopened.ack(rows.map((r) => r.seq));
    const loaded = rssMb();
    const peak = process.resourceUsage().maxRSS / 1024;
    const fileMb = ['', '-wal'].reduce((sum, suffix) => sum + (existsSync(databasePath(dir) + suffix) ? statSync(databasePath(dir) + suffix).size : 0), 0) / 1024 / 1024;
    const figures: RssFigures = { idle_rss_mb: idle, loaded_rss_mb: loaded, peak_rss_mb: peak, reopen_ms: reopenMs, file_mb: fileMb };
    process.stdout.write(JSON.stringify(figures) + '\n');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function runRssChild(): Promise<RssFigures> {
  return withTimeout(
    new Promise((resolve, reject) => {
      const child = spawn(process.execPath, ['--import', 'tsx', SELF, '--rss-child'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
      child.once('error', reject);
      child.once('close', (code) => {
        if (code !== 0) return reject(new Error(`rss child exited ${code}`));
        try {
          resolve(JSON.parse(out.trim().split('\n').at(-1)!) as RssFigures);
        } catch (err) {
          reject(err);
        }
      });
    }),
    'the 1M-message memory run',
  );
}

// ---------------------------------------------------------------------------------------------

const round = (n: number, digits = 0) => Number(n.toFixed(digits));

function printTable(rows: [string, string, string][]): void {
  const widths = [0, 1, 2].map((c) => Math.max(...rows.map((r) => r[c].length)));
  const line = (r: [string, string, string]) => `${r[0].padEnd(widths[0])}  ${r[1].padStart(widths[1])}  ${r[2]}`;
  process.stdout.write(['', 'outbox and cloud link', ...rows.map(line), ''].join('\n') + '\n');
}

export async function runOutboxBench(): Promise<Record<string, number>> {
  const figures: Record<string, number> = {};

  progress(`ingest: ${INGEST_COUNT} messages, synchronous=FULL`);
  const dir = tempDataDir();
  const db = openDatabase(dir);
  try {
    figures.ingest_burst100_per_s = round(await ingestRate(db, INGEST_COUNT, 100));
    emptyOutbox(db);
    figures.ingest_burst1000_per_s = round(await ingestRate(db, INGEST_COUNT, 1000));
    emptyOutbox(db);
    figures.ingest_single_per_s = round(await ingestRate(db, 20_000, 1));
    emptyOutbox(db);
    figures.raw_batched_insert_per_s = round(rawInsertRate(db, INGEST_COUNT, 1000));
  } finally {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
  figures.ingest_ratio = round(figures.ingest_burst100_per_s / figures.raw_batched_insert_per_s, 2);

  progress('drain: starting mosquitto on loopback');
  const broker = await startMosquitto();
  try {
    const bare: number[] = [];
    const bareLarge: number[] = [];
    const drained: number[] = [];
    const drainedNormal: number[] = [];
    for (let round = 1; round <= 2; round++) {
      progress(`drain round ${round}: ${DRAIN_COUNT} messages, window ${WINDOW}`);
      bare.push(await barePublishRate(broker.port, DRAIN_COUNT, WINDOW));
      drained.push(await drainRate(broker.port, DRAIN_COUNT, 'FULL'));
      bareLarge.push(await barePublishRate(broker.port, DRAIN_COUNT, LARGE_WINDOW));
      drainedNormal.push(await drainRate(broker.port, DRAIN_COUNT, 'NORMAL'));
    }
    figures.drain_per_s = round(Math.max(...drained));
    figures.drain_normal_deletes_per_s = round(Math.max(...drainedNormal));
    figures.bare_window_per_s = round(Math.max(...bare));
    figures.bare_large_window_per_s = round(Math.max(...bareLarge));
    figures.drain_ratio = round(figures.drain_per_s / figures.bare_window_per_s, 2);
    figures.drain_ratio_large_window = round(figures.drain_per_s / figures.bare_large_window_per_s, 2);
  } finally {
    await broker.stop();
  }

  progress(`memory: ${RSS_COUNT} messages in the outbox of a child process`);
  const rss = await runRssChild();
  figures.idle_rss_mb = round(rss.idle_rss_mb, 1);
  figures.loaded_rss_mb = round(rss.loaded_rss_mb, 1);
  figures.peak_rss_mb = round(rss.peak_rss_mb, 1);
  figures.reopen_1m_ms = round(rss.reopen_ms);
  figures.outbox_file_mb = round(rss.file_mb, 1);

  const n = (v: number) => v.toLocaleString('en-US');
  printTable([
    ['ingest, bursts of 100 per turn', `${n(figures.ingest_burst100_per_s)}/s`, `raw batched INSERT (1000 per transaction) ${n(figures.raw_batched_insert_per_s)}/s, ratio ${figures.ingest_ratio}`],
    ['ingest, bursts of 1000 per turn', `${n(figures.ingest_burst1000_per_s)}/s`, `ratio ${round(figures.ingest_burst1000_per_s / figures.raw_batched_insert_per_s, 2)}`],
    ['ingest, one message per turn', `${n(figures.ingest_single_per_s)}/s`, 'one FULL commit (fsync) per message: the floor'],
    [`drain of ${n(DRAIN_COUNT)}, window ${WINDOW}`, `${n(figures.drain_per_s)}/s`, `bare MQTT.js QoS 1, same window ${n(figures.bare_window_per_s)}/s: ratio ${figures.drain_ratio}`],
    ['', '', `bare MQTT.js QoS 1, window ${LARGE_WINDOW} ${n(figures.bare_large_window_per_s)}/s: ratio ${figures.drain_ratio_large_window}`],
    ['drain, deletes with synchronous=NORMAL', `${n(figures.drain_normal_deletes_per_s)}/s`, 'for comparison (the gateway deletes with FULL)'],
    [`RSS with ${n(RSS_COUNT)} queued`, `${figures.peak_rss_mb} MB peak`, `idle ${figures.idle_rss_mb} MB, after reopen and a send ${figures.loaded_rss_mb} MB; ${figures.outbox_file_mb} MB on disk; reopen took ${n(figures.reopen_1m_ms)} ms`],
  ]);
  return figures;
}

if (process.argv[1] === SELF) {
  if (process.argv.includes('--rss-child')) {
    rssChild().catch((err) => {
      process.stderr.write(`${(err as Error).stack}\n`);
      process.exit(1);
    });
  } else {
    runOutboxBench().then(
      (figures) => {
        if (process.argv.includes('--json')) process.stdout.write(JSON.stringify(figures) + '\n');
      },
      (err) => {
        process.stderr.write(`outbox bench failed: ${(err as Error).stack}\n`);
        process.exitCode = 1;
      },
    );
  }
}
