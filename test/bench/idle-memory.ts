// Idle memory of the compiled gateway (issue 15): resident set (VmRSS) and V8 heap of
//   - a bare `node -e` process that only waits (the floor, alive beside the others the whole run),
//   - `gatehouse demo` (simulated site, camera, console, metrics),
//   - `gatehouse run` with 100 Modbus gates on one pymodbus device (test/bench/bench-config.ts),
// each read after it is ready and has idled IDLE_MS, over RUNS runs (median, min-max); the demo and
// the gates twice: as `node dist/src/cli.js` runs them, and with the environment of the systemd unit
// (its NODE_OPTIONS V8 flags and MALLOC_* glibc settings, read from systemd/gatehouse.service).
// The heap comes from test/bench/memory-probe.mjs over an IPC channel (heap used as it was, and after a full GC).
// usage: node --import tsx test/bench/idle-memory.ts
//   env: IDLE_RUNS=3, IDLE_MS=10000, IDLE_GATES=100, IDLE_NODE_ARGS='--max-semi-space-size=1' (gateway processes only)
// stdout: the table, then the figures as JSON. Aims: demo <= 80 MB RSS, 100 gates <= 90 MB RSS.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { hashPassword } from '../../src/broker/password.js';
import { topics } from '../../src/topics.js';
import { freePort } from '../support/ports.js';
import { startModbusDevice } from '../support/modbus-device.js';
import { BENCH_GATEWAY, BENCH_SITE, BENCH_USER, buildBenchConfig, gateUnit } from './bench-config.js';
import { waitForGatewayReady } from './gateway-ready.js';
import { memoryOf } from './proc-stats.js';
import { unitMemoryEnvironment, UNIT_FILE } from './unit-environment.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const PROBE = fileURLToPath(new URL('./memory-probe.mjs', import.meta.url));
const RUNS = Number(process.env.IDLE_RUNS ?? 3);
const IDLE_MS = Number(process.env.IDLE_MS ?? 10_000);
const GATES = Number(process.env.IDLE_GATES ?? 100);
/** Extra node flags for the gateway processes only (not the bare one), e.g. the service unit's V8 flags. */
const GATEWAY_NODE_ARGS = (process.env.IDLE_NODE_ARGS ?? '').split(' ').filter(Boolean);
const POLL_MS = 1000;
const READY_TIMEOUT_MS = 90_000;
const STOP_GRACE_MS = 15_000;
const AIM_DEMO_MB = 80;
const AIM_GATES_MB = 90;
interface Sample {
  rssMb: number;
  heapUsedMb: number;
  heapTotalMb: number;
  heapAfterGcMb: number;
  /** Memory outside the V8 heap that V8 knows of (Buffers, ArrayBuffers, native objects it wraps). */
  externalMb: number;
  /** V8 heap spaces (new_space, old_space, code_space ...): size in MB. */
  spacesMb: Record<string, number>;
}

interface ProbeAnswer {
  memory: NodeJS.MemoryUsage;
  spaces: Record<string, number>;
  heapUsedAfterGc: number;
}

const MB = 1024 * 1024;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const progress = (text: string) => process.stderr.write(`[idle-memory] ${text}\n`);

class Probed {
  readonly child: ChildProcess;
  private readonly tail: string[] = [];
  readonly closed: Promise<void>;

  constructor(args: string[], env: Record<string, string> = {}) {
    this.child = spawn(process.execPath, ['--import', PROBE, ...args], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
    this.closed = new Promise((resolve) => this.child.once('close', () => resolve()));
    for (const stream of [this.child.stdout!, this.child.stderr!]) {
      createInterface({ input: stream }).on('line', (line) => {
        this.tail.push(line);
        if (this.tail.length > 40) this.tail.shift();
      });
    }
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  output(): string {
    return this.tail.join('\n');
  }

  async waitForLine(pattern: RegExp, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.tail.some((l) => pattern.test(l))) {
      if (!this.running) throw new Error(`exited before ${pattern}:\n${this.output()}`);
      if (Date.now() > deadline) throw new Error(`no ${pattern} within ${timeoutMs} ms:\n${this.output()}`);
      await sleep(100);
    }
  }

  /** VmRSS first (the probe's GC must not lower it), then the heap through the probe. */
  async sample(): Promise<Sample> {
    const rssMb = memoryOf(this.child.pid!).rssMb;
    const answer = await new Promise<ProbeAnswer>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`memory probe did not answer:\n${this.output()}`)), 10_000);
      this.child.once('message', (m) => {
        clearTimeout(timer);
        resolve(m as ProbeAnswer);
      });
      this.child.send('memory?');
    });
    return { rssMb, heapUsedMb: answer.memory.heapUsed / MB, heapTotalMb: answer.memory.heapTotal / MB, heapAfterGcMb: answer.heapUsedAfterGc / MB, externalMb: answer.memory.external / MB, spacesMb: Object.fromEntries(Object.entries(answer.spaces).map(([k, v]) => [k, Math.round((10 * v) / MB) / 10])) };
  }

  async stop(): Promise<void> {
    if (this.running) {
      this.child.kill('SIGTERM');
      const kill = setTimeout(() => this.child.kill('SIGKILL'), STOP_GRACE_MS);
      await this.closed;
      clearTimeout(kill);
    }
  }
}

async function idleDemo(env: Record<string, string>): Promise<Sample> {
  const dataDir = mkdtempSync(join(tmpdir(), 'gatehouse-idle-demo-'));
  const demo = new Probed([...GATEWAY_NODE_ARGS, 'dist/src/cli.js', 'demo', '--port', '0', '--data-dir', dataDir], { ...env, GATEHOUSE_METRICS_PORT: '0', GATEHOUSE_CONSOLE_PORT: '0' });
  try {
    await demo.waitForLine(/"msg":"gatehouse online"/, READY_TIMEOUT_MS);
    await sleep(IDLE_MS);
    return await demo.sample();
  } finally {
    await demo.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

async function idleGates(modbusPort: number, tempDir: string, run: number, env: Record<string, string>): Promise<Sample> {
  const dataDir = mkdtempSync(join(tmpdir(), 'gatehouse-idle-gates-'));
  const password = randomBytes(12).toString('hex');
  const brokerPort = await freePort();
  const configFile = join(tempDir, `gates-${run}-${Object.keys(env).length}.json`);
  const document = buildBenchConfig({ brokerPort, modbusPort, devices: GATES, dataDir, pollMs: POLL_MS, passwordHash: await hashPassword(password), logLevel: 'warn' });
  writeFileSync(configFile, JSON.stringify(document, null, 2));
  const gateway = new Probed([...GATEWAY_NODE_ARGS, 'dist/src/cli.js', 'run', '--config', configFile], env);
  try {
    await waitForGatewayReady({
      port: brokerPort,
      username: BENCH_USER,
      password,
      stateTopic: topics.gatewayState(BENCH_SITE, BENCH_GATEWAY),
      devices: GATES,
      timeoutMs: READY_TIMEOUT_MS,
      alive: () => gateway.running,
      describe: () => gateway.output(),
    });
    await sleep(IDLE_MS);
    return await gateway.sample();
  } finally {
    await gateway.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

type Figure = Exclude<keyof Sample, 'spacesMb'>;

function summary(samples: Sample[]): Record<Figure, { median: number; min: number; max: number }> & { lastSpacesMb: Record<string, number> } {
  const of = (key: Figure) => {
    const v = samples.map((s) => s[key]);
    return { median: median(v), min: Math.min(...v), max: Math.max(...v) };
  };
  return { rssMb: of('rssMb'), heapUsedMb: of('heapUsedMb'), heapTotalMb: of('heapTotalMb'), heapAfterGcMb: of('heapAfterGcMb'), externalMb: of('externalMb'), lastSpacesMb: samples[samples.length - 1].spacesMb };
}

async function main(): Promise<void> {
  progress('building dist/ (tsc): the gateway runs compiled, as the service does');
  execFileSync(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', ROOT], { stdio: 'inherit' });
  const tempDir = mkdtempSync(join(tmpdir(), 'gatehouse-idle-'));
  const bare = new Probed(['-e', 'setInterval(() => {}, 1 << 30)']);
  progress(`starting pymodbus with units 1..${GATES}`);
  const device = await startModbusDevice({ units: Array.from({ length: GATES }, (_, i) => gateUnit(i)) });
  const service = unitMemoryEnvironment();
  const samples = { bare: [] as Sample[], demo: [] as Sample[], gates: [] as Sample[], demoService: [] as Sample[], gatesService: [] as Sample[] };
  try {
    for (let run = 1; run <= RUNS; run++) {
      for (const [label, env, demo, gates] of [['plain', {}, samples.demo, samples.gates], ['as the service', service, samples.demoService, samples.gatesService]] as const) {
        progress(`run ${run}/${RUNS}, ${label}: demo, idle ${IDLE_MS} ms`);
        demo.push(await idleDemo(env));
        samples.bare.push(await bare.sample());
        progress(`run ${run}/${RUNS}, ${label}: ${GATES} gates, idle ${IDLE_MS} ms`);
        gates.push(await idleGates(device.port, tempDir, run, env));
        samples.bare.push(await bare.sample());
      }
    }
  } finally {
    await bare.stop();
    await device.stop();
    rmSync(tempDir, { recursive: true, force: true });
  }
  const figures = { bare: summary(samples.bare), demo: summary(samples.demo), gates: summary(samples.gates), demo_service: summary(samples.demoService), gates_service: summary(samples.gatesService) };
  const bareRss = figures.bare.rssMb.median;
  const f = (n: number) => n.toFixed(1).padStart(6);
  console.log(`idle memory, ${RUNS} runs${GATEWAY_NODE_ARGS.length ? ` (gateways: node ${GATEWAY_NODE_ARGS.join(' ')})` : ''}, each read after ${IDLE_MS / 1000} s idle (median, min-max), MB`);
  console.log(`unit env (systemd/gatehouse.service): ${Object.entries(service).map(([k, v]) => `${k}=${v}`).join(' ')}`);
  console.log(`${'process'.padEnd(16)} ${'RSS'.padStart(6)} ${'range'.padStart(13)} ${'heap used'.padStart(9)} ${'heap total'.padStart(10)} ${'after GC'.padStart(8)} ${'x bare'.padStart(6)}  aim`);
  const rows: [string, keyof typeof figures, number | undefined][] = [
    ['bare node', 'bare', undefined],
    ['demo', 'demo', AIM_DEMO_MB],
    [`${GATES} gates`, 'gates', AIM_GATES_MB],
    ['demo, unit env', 'demo_service', AIM_DEMO_MB],
    [`${GATES} gates, unit`, 'gates_service', AIM_GATES_MB],
  ];
  for (const [name, key, aim] of rows) {
    const s = figures[key];
    const range = `${s.rssMb.min.toFixed(1)}-${s.rssMb.max.toFixed(1)}`;
    const verdict = aim === undefined ? '' : `<= ${aim} ${s.rssMb.median <= aim ? 'met' : 'NOT met'}`;
    console.log(`${name.padEnd(16)} ${f(s.rssMb.median)} ${range.padStart(13)} ${f(s.heapUsedMb.median).padStart(9)} ${f(s.heapTotalMb.median).padStart(10)} ${f(s.heapAfterGcMb.median).padStart(8)} ${(s.rssMb.median / bareRss).toFixed(2).padStart(6)}  ${verdict}`);
  }
  console.log(JSON.stringify({ bench: 'idle-memory', runs: RUNS, gateway_node_args: GATEWAY_NODE_ARGS, idle_ms: IDLE_MS, gate_count: GATES, unit_env: service, ...figures, ratio_demo: figures.demo.rssMb.median / bareRss, ratio_gates: figures.gates.rssMb.median / bareRss, ratio_demo_service: figures.demo_service.rssMb.median / bareRss, ratio_gates_service: figures.gates_service.rssMb.median / bareRss }));
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
