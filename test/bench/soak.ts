// `npm run soak`: does the gateway's memory stay flat? A compiled gateway (as the service runs it)
// with N gates on one pymodbus device, polls running, takes unlock commands at a steady rate until
// --commands have run or --max-minutes have passed (it stops by itself). Every --every commands it
// prints RSS, the heap in use after a forced full GC (through the gateway's inspector, so nothing in
// the gateway changes for it), event-loop delay p99 (the gateway's own /metrics, less the monitor's
// sampling period that each of its samples spans) and open file
// descriptors. At the end: the heap's slope over the last half of the samples, in % of its mean
// per 100,000 commands (aim: under 1 %), and RSS at the end against RSS after the warm-up (aim: at
// most 1.2 times).
//
// usage: node --import tsx test/bench/soak.ts [--commands N] [--every N] [--warmup N] [--rate N]
//          [--devices N] [--poll-ms N] [--max-minutes N] [--json FILE] [--plain]
// The gateway runs with the service unit's memory settings (NODE_OPTIONS, MALLOC_*, read from
// systemd/gatehouse.service), as a site runs it; --plain runs it without them.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execFileSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import { EVENT_LOOP_MONITOR_RESOLUTION_MS } from '../../src/metrics/process-metrics.js';
import { hashPassword } from '../../src/broker/password.js';
import { formatIssues, loadConfig } from '../../src/config.js';
import { topics } from '../../src/topics.js';
import { startModbusDevice } from '../support/modbus-device.js';
import { freePort } from '../support/ports.js';
import { BENCH_GATEWAY, BENCH_SITE, BENCH_USER, buildBenchConfig, gateId, gateUnit } from './bench-config.js';
import { waitForGatewayReady } from './gateway-ready.js';
import { InspectorProbe, inspectorUrlIn } from './inspector-probe.js';
import { scrapeMetrics } from './metrics-scrape.js';
import { NodeProcess } from './node-process.js';
import { cpuMsOf, memoryOf } from './proc-stats.js';
import { RoundTripClient } from './round-trip-client.js';
import { unitMemoryEnvironment } from './unit-environment.js';
import { intOption } from './int-option.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

const { values: args } = parseArgs({
  options: {
    commands: { type: 'string', default: '1000000' },
    every: { type: 'string', default: '100000' },
    warmup: { type: 'string', default: '20000' },
    rate: { type: 'string', default: '400' },
    devices: { type: 'string', default: '50' },
    'poll-ms': { type: 'string', default: '1000' },
    'max-minutes': { type: 'string', default: '60' },
    json: { type: 'string' },
    plain: { type: 'boolean', default: false },
  },
  strict: true,
});

const intArg = (name: keyof typeof args, min: number, max: number): number => intOption(args, name, min, max);

const COMMANDS = intArg('commands', 1_000, 100_000_000);
const EVERY = intArg('every', 100, 10_000_000);
const WARMUP = intArg('warmup', 100, COMMANDS);
const RATE = intArg('rate', 1, 100_000);
const DEVICES = intArg('devices', 1, 200);
const POLL_MS = intArg('poll-ms', 50, 3_600_000);
const MAX_MS = intArg('max-minutes', 1, 24 * 60) * 60_000;

const progress = (msg: string) => process.stderr.write(`[soak] ${msg}\n`);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Sample {
  commands: number;
  elapsed_s: number;
  rate_per_s: number;
  rss_mb: number;
  heap_after_gc_mb: number;
  /** The loop's delay p99 since the last sample, beyond the 100 ms period of prom-client's monitor. */
  event_loop_p99_ms: number;
  open_fds: number;
  cpu_ms_per_command: number;
  failed: number;
}

/** Least-squares slope of y over x. */
function slope(points: { x: number; y: number }[]): number {
  const n = points.length;
  const mx = points.reduce((s, p) => s + p.x, 0) / n;
  const my = points.reduce((s, p) => s + p.y, 0) / n;
  const num = points.reduce((s, p) => s + (p.x - mx) * (p.y - my), 0);
  const den = points.reduce((s, p) => s + (p.x - mx) ** 2, 0);
  return den === 0 ? 0 : num / den;
}

const undo: (() => Promise<void> | void)[] = [];
async function cleanup(): Promise<void> {
  for (const step of undo.splice(0).reverse()) await Promise.resolve(step()).catch(() => undefined);
}

async function main(): Promise<void> {
  const tempDir = mkdtempSync(join(tmpdir(), 'gatehouse-soak-'));
  undo.push(() => rmSync(tempDir, { recursive: true, force: true }));
  const device = await startModbusDevice({ units: Array.from({ length: DEVICES }, (_, i) => gateUnit(i)) });
  undo.push(() => device.stop());

  const password = randomBytes(12).toString('hex');
  const brokerPort = await freePort();
  const metricsPort = await freePort();
  const document = buildBenchConfig({
    brokerPort,
    modbusPort: device.port,
    devices: DEVICES,
    dataDir: join(tempDir, 'data'),
    pollMs: POLL_MS,
    passwordHash: await hashPassword(password),
    logLevel: 'warn',
  });
  document.metrics = { enabled: true, host: '127.0.0.1', port: metricsPort };
  const configFile = join(tempDir, 'soak.json');
  writeFileSync(configFile, JSON.stringify(document, null, 2));
  const checked = loadConfig({ file: configFile, env: {} });
  if (!checked.ok) throw new Error(`soak config is invalid:\n${formatIssues(checked.issues)}`);

  progress('building dist/ (tsc): the gateway runs compiled, as the service does');
  execFileSync(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', ROOT], { stdio: 'inherit' });
  const unitEnv = args.plain ? {} : unitMemoryEnvironment();
  progress(`gateway environment: ${Object.entries(unitEnv).map(([k, v]) => `${k}=${v}`).join(' ') || 'plain (no unit settings)'}`);
  const gateway = new NodeProcess(['--inspect=127.0.0.1:0', 'dist/src/cli.js', 'run', '--config', configFile], ROOT, { tsx: false, env: unitEnv });
  await gateway.start();
  undo.push(() => gateway.stop());
  await waitForGatewayReady({
    port: brokerPort,
    username: BENCH_USER,
    password,
    stateTopic: topics.gatewayState(BENCH_SITE, BENCH_GATEWAY),
    devices: DEVICES,
    timeoutMs: 60_000,
    alive: () => gateway.running,
    describe: () => gateway.outputTail(),
  });
  const url = inspectorUrlIn(gateway.outputTail());
  if (!url) throw new Error(`the gateway printed no inspector URL:\n${gateway.outputTail()}`);
  const inspector = await InspectorProbe.connect(url);
  undo.push(() => inspector.close());

  const clients = Array.from({ length: DEVICES }, (_, i) => new RoundTripClient({
    port: brokerPort,
    username: BENCH_USER,
    password,
    publishTopic: topics.command(BENCH_SITE, 'gate', gateId(i), 'unlock'),
    replyTopic: topics.result(BENCH_SITE, 'gate', gateId(i)),
  }));
  undo.push(() => Promise.all(clients.map((c) => c.stop())).then(() => undefined));
  await Promise.all(clients.map((c) => c.start()));

  const tag = randomBytes(4).toString('hex');
  const startedAt = Date.now();
  let sent = 0;
  let done = 0;
  let failed = 0;
  /** Failed commands by result code (or `no_reply`). */
  const failures: Record<string, number> = {};
  const fail = (code: string) => {
    failed++;
    failures[code] = (failures[code] ?? 0) + 1;
  };
  let cursor = performance.now();
  const interval = 1000 / RATE;
  /** The steady schedule: each command gets the next slot, whichever lane is free to send it. */
  const slot = async () => {
    const now = performance.now();
    const at = Math.max(now, cursor);
    cursor = at + interval;
    if (at > now) await sleep(at - now);
  };
  const stopAt = startedAt + MAX_MS;
  const lane = async (index: number) => {
    while (sent < COMMANDS && Date.now() < stopAt) {
      sent++;
      await slot();
      try {
        const reply = await clients[index]!.send(`soak-${tag}-${sent}`, { duration_ms: 200 });
        const body = reply.body as { status?: string; code?: string };
        if (body.status !== 'ok') fail(body.code ?? 'not_ok');
      } catch {
        fail('no_reply');
      }
      done++;
    }
  };

  const samples: Sample[] = [];
  let lastCpu = cpuMsOf(gateway.pid);
  let lastDone = 0;
  let lastAt = Date.now();
  const takeSample = async (): Promise<Sample> => {
    const heap = await inspector.heapAfterGcMb();
    const metrics = await scrapeMetrics(`http://127.0.0.1:${metricsPort}`);
    const cpu = cpuMsOf(gateway.pid);
    const now = Date.now();
    const sample: Sample = {
      commands: done,
      elapsed_s: Math.round((now - startedAt) / 1000),
      rate_per_s: Math.round(((done - lastDone) * 1000) / Math.max(1, now - lastAt)),
      rss_mb: Number(memoryOf(gateway.pid).rssMb.toFixed(1)),
      heap_after_gc_mb: Number(heap.toFixed(2)),
      event_loop_p99_ms: Number(((metrics.get('nodejs_eventloop_lag_p99_seconds') ?? Number.NaN) * 1000 - EVENT_LOOP_MONITOR_RESOLUTION_MS).toFixed(2)),
      open_fds: readdirSync(`/proc/${gateway.pid}/fd`).length,
      cpu_ms_per_command: Number(((cpu - lastCpu) / Math.max(1, done - lastDone)).toFixed(3)),
      failed,
    };
    lastCpu = cpu;
    lastDone = done;
    lastAt = now;
    progress(JSON.stringify(sample));
    return sample;
  };

  progress(`${COMMANDS} commands at ${RATE}/s over ${DEVICES} gates, a sample every ${EVERY} (warm-up ${WARMUP}), at most ${MAX_MS / 60_000} min`);
  const lanes = clients.map((_, i) => lane(i));
  let nextSampleAt = WARMUP;
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      if (done >= nextSampleAt) {
        samples.push(await takeSample());
        // After the warm-up: at every multiple of --every.
        nextSampleAt = (Math.floor(nextSampleAt / EVERY) + 1) * EVERY;
      }
      await sleep(200);
    }
  })();
  await Promise.all(lanes);
  sampling = false;
  await sampler;
  if (samples.at(-1)?.commands !== done) samples.push(await takeSample());
  await cleanup();

  const warm = samples[0]!;
  const end = samples.at(-1)!;
  const lastHalf = samples.slice(Math.floor(samples.length / 2));
  const heapSlopePerCommand = slope(lastHalf.map((s) => ({ x: s.commands, y: s.heap_after_gc_mb })));
  const heapMean = lastHalf.reduce((s, p) => s + p.heap_after_gc_mb, 0) / lastHalf.length;
  const heapSlopePct = lastHalf.length >= 2 ? (heapSlopePerCommand * 100_000 * 100) / heapMean : Number.NaN;
  const rssRatio = end.rss_mb / warm.rss_mb;
  const summary = {
    commands: done,
    failed,
    failures,
    minutes: Number(((Date.now() - startedAt) / 60_000).toFixed(1)),
    heap_slope_pct_per_100k_last_half: Number(heapSlopePct.toFixed(2)),
    rss_end_over_warm: Number(rssRatio.toFixed(3)),
    aims: { heap_slope_under_1pct: heapSlopePct < 1, rss_within_1_2: rssRatio <= 1.2 },
    env: { node: process.version, cpus: cpus().length, devices: DEVICES, rate: RATE, poll_ms: POLL_MS, gateway_env: unitEnv },
  };
  const header = Object.keys(warm) as (keyof Sample)[];
  const rows = [header.join('\t'), ...samples.map((s) => header.map((k) => String(s[k])).join('\t'))];
  process.stdout.write(`${rows.join('\n')}\n\n${JSON.stringify(summary, null, 2)}\n`);
  if (args.json) writeFileSync(String(args.json), JSON.stringify({ samples, summary }, null, 2) + '\n');
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => void cleanup().finally(() => process.exit(130)));
}

main().then(
  () => process.exit(0),
  async (err: unknown) => {
    process.stderr.write(`soak failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    await cleanup();
    process.exit(1);
  },
);
