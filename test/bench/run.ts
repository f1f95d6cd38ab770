// `npm run bench`: gate command round trip through the gateway (a child `gatehouse run` process)
// against a floor measured in the same run on the same peers: an MQTT echo through the same broker
// plus a direct Modbus write of the same coil on the same pymodbus device.
//
// usage: node --import tsx test/bench/run.ts [--json FILE] [--devices N] [--samples N] [--rounds N]
//          [--blocks N] [--gap-ms MAX] [--poll-ms N] [--duration-ms N] [--seed N] [--log-level L]
//          [--data-parent DIR] [--node-arg=ARG ...] [--window-total N] [--window-repeats N] [--windowed-only] [--skip-build] [--gateway-dist DIR]
//          [--slow-fsync-ms N]
// --gateway-dist runs the compiled gateway from another directory under the repository (e.g. a copy
// of dist/ built before a change, for a before/after in the same conditions); it implies --skip-build.
// --data-parent puts the gateway's fresh data dir under DIR (default: the OS temp dir), e.g. a
// tmpfs to see what SQLite's fsyncs cost; --node-arg passes a flag to the gateway's node (e.g.
// --cpu-prof). Both are for profiling; the defaults are what a site runs. --slow-fsync-ms N makes
// every fsync of the gateway process wait N ms more (slow-disk.ts: an SD card, a busy shared disk;
// the floors are not slowed), for a before/after of the gateway on such a disk.
// The windowed phase (after the round trips) keeps --devices commands in flight until --window-total
// have run, beside an MQTT echo loop and bare Modbus writes with the same window, repeated
// --window-repeats times in alternation; --windowed-only skips the round trips (for profiling).
// Progress goes to stderr; stdout gets the table, then the same figures as JSON on its last line.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execFileSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import { hashPassword } from '../../src/broker/password.js';
import { formatIssues, loadConfig } from '../../src/config.js';
import { Random } from '../../src/simulator/random.js';
import { topics } from '../../src/topics.js';
import { startModbusDevice } from '../support/modbus-device.js';
import { freePort } from '../support/ports.js';
import { BENCH_GATEWAY, BENCH_SITE, BENCH_USER, ECHO_PREFIX, buildBenchConfig, gateId, gateUnit } from './bench-config.js';
import { waitForGatewayReady } from './gateway-ready.js';
import { ModbusWriter } from './modbus-writer.js';
import { slowFsyncEnv } from './slow-disk.js';
import { NodeProcess } from './node-process.js';
import { renderFigures } from './figures.js';
import { measureInterleaved, waitAllLocked } from './measure.js';
import { runPhase, type Probe } from './phases.js';
import { cpuMsOf, memoryOf } from './proc-stats.js';
import { RoundTripClient } from './round-trip-client.js';
import { FsyncFloor } from './fsync-floor.js';
import { runWindowed } from './windowed.js';
import type { WindowedSide } from './windowed-figures.js';
import { intOption } from './int-option.js';

/** A node process that does nothing: the part of the gateway's RSS any node process pays. */
const IDLE_PROCESS_SOURCE = "process.stdout.write('ready\\n'); const t = setInterval(() => {}, 60000); process.once('SIGTERM', () => clearInterval(t));";

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const OVERALL_LIMIT_MS = 330_000;
const READY_TIMEOUT_MS = 30_000;
const PHASE_BUDGET_MS = 40_000;
const INTERLEAVED_BUDGET_MS = 60_000;

const { values: args } = parseArgs({
  options: {
    json: { type: 'string' },
    devices: { type: 'string', default: '50' },
    samples: { type: 'string', default: '200' },
    rounds: { type: 'string', default: '30' },
    blocks: { type: 'string', default: '10' },
    'gap-ms': { type: 'string', default: '250' },
    'poll-ms': { type: 'string', default: '1000' },
    'duration-ms': { type: 'string', default: '200' },
    seed: { type: 'string', default: '1' },
    'log-level': { type: 'string', default: 'warn' },
    'data-parent': { type: 'string' },
    'node-arg': { type: 'string', multiple: true, default: [] },
    'window-total': { type: 'string', default: '2000' },
    'window-repeats': { type: 'string', default: '3' },
    'windowed-only': { type: 'boolean', default: false },
    'skip-build': { type: 'boolean', default: false },
    'gateway-dist': { type: 'string', default: 'dist' },
    'slow-fsync-ms': { type: 'string', default: '0' },
  },
  strict: true,
});

const intArg = (name: keyof typeof args, min: number, max: number): number => intOption(args, name, min, max);

const DEVICES = intArg('devices', 1, 200);
const SAMPLES = intArg('samples', 10, 10_000);
const ROUNDS = intArg('rounds', 2, 1_000);
const BLOCKS = intArg('blocks', 1, 100);
const GAP_MAX_MS = intArg('gap-ms', 0, 5_000);
const POLL_MS = intArg('poll-ms', 50, 3_600_000);
const DURATION_MS = intArg('duration-ms', 100, 60_000);
const SEED = intArg('seed', 0, 2 ** 32 - 1);
const LOG_LEVEL = String(args['log-level']);
const DATA_PARENT = args['data-parent'] ?? tmpdir();
const NODE_ARGS = args['node-arg'] ?? [];
const IDLE_WINDOW_MS = 2_000;
const WINDOW_TOTAL = intArg('window-total', 100, 100_000);
const WINDOW_REPEATS = intArg('window-repeats', 1, 20);
const WINDOWED_ONLY = args['windowed-only'] === true;
const WINDOW_BUDGET_MS = 15_000;
const SLOW_FSYNC_MS = intArg('slow-fsync-ms', 0, 1_000);

const progress = (msg: string) => process.stderr.write(`[bench] ${msg}\n`);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Undo steps, run last-in first-out by cleanup(), whatever happened. */
const undo: { what: string; fn: () => Promise<void> | void }[] = [];
let cleanedUp: Promise<void> | undefined;
function cleanup(): Promise<void> {
  cleanedUp ??= (async () => {
    for (const step of undo.reverse()) {
      try {
        await step.fn();
      } catch (err) {
        progress(`cleanup of ${step.what} failed: ${(err as Error).message}`);
      }
    }
  })();
  return cleanedUp;
}

function filesystemOf(path: string): string {
  try {
    return execFileSync('stat', ['-f', '-c', '%T', path], { encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
}

async function main(): Promise<void> {
  const limit = setTimeout(() => {
    progress(`over the ${OVERALL_LIMIT_MS / 1000} s limit: aborting`);
    void cleanup().finally(() => process.exit(1));
  }, OVERALL_LIMIT_MS);
  limit.unref();

  const tempDir = mkdtempSync(join(tmpdir(), 'gatehouse-bench-'));
  undo.push({ what: 'temp dir', fn: () => rmSync(tempDir, { recursive: true, force: true }) });
  const dataDir = mkdtempSync(join(DATA_PARENT, 'gatehouse-bench-data-'));
  undo.push({ what: 'data dir', fn: () => rmSync(dataDir, { recursive: true, force: true }) });

  const units = Array.from({ length: DEVICES }, (_, i) => gateUnit(i));
  progress(`starting pymodbus with units 1..${DEVICES}`);
  const device = await startModbusDevice({ units });
  undo.push({ what: 'pymodbus device', fn: () => device.stop() });

  const password = randomBytes(12).toString('hex');
  const brokerPort = await freePort();
  const configFile = join(tempDir, 'bench.json');
  const document = buildBenchConfig({
    brokerPort,
    modbusPort: device.port,
    devices: DEVICES,
    dataDir,
    pollMs: POLL_MS,
    passwordHash: await hashPassword(password),
    logLevel: LOG_LEVEL,
  });
  writeFileSync(configFile, JSON.stringify(document, null, 2));
  const checked = loadConfig({ file: configFile, env: {} });
  if (!checked.ok) throw new Error(`bench config is invalid:\n${formatIssues(checked.issues)}`);

  // The gateway runs compiled, as the service does; build it from the current sources first.
  const gatewayDist = String(args['gateway-dist']);
  const skipBuild = args['skip-build'] || gatewayDist !== 'dist';
  if (skipBuild) progress(`the gateway runs the ${gatewayDist}/ that is there, not rebuilt`);
  else progress('building dist/ (tsc) so the gateway runs as compiled JavaScript');
  if (!skipBuild) execFileSync(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', ROOT], { stdio: 'inherit' });
  progress(`starting gateway: node ${gatewayDist}/src/cli.js run --config ${configFile} (broker 127.0.0.1:${brokerPort})`);
  if (SLOW_FSYNC_MS > 0) progress(`every fsync of the gateway waits ${SLOW_FSYNC_MS} ms more (a slow disk)`);
  const gateway = new NodeProcess([...NODE_ARGS, `${gatewayDist}/src/cli.js`, 'run', '--config', configFile], ROOT, { tsx: false, ...(SLOW_FSYNC_MS > 0 ? { env: slowFsyncEnv(SLOW_FSYNC_MS) } : {}) });
  await gateway.start();
  undo.push({ what: 'gateway process', fn: () => gateway.stop() });
  const startedAt = Date.now();
  await waitForGatewayReady({
    port: brokerPort,
    username: BENCH_USER,
    password,
    stateTopic: topics.gatewayState(BENCH_SITE, BENCH_GATEWAY),
    devices: DEVICES,
    timeoutMs: READY_TIMEOUT_MS,
    alive: () => gateway.running,
    describe: () => gateway.outputTail(),
  });
  const readyMs = Date.now() - startedAt;
  const memoryAtReady = memoryOf(gateway.pid);
  progress(`gateway ready in ${readyMs} ms, RSS ${memoryAtReady.rssMb.toFixed(1)} MB`);

  const commandClients: RoundTripClient[] = [];
  const echoClients: RoundTripClient[] = [];
  const writers: ModbusWriter[] = [];
  undo.push({
    what: 'bench clients',
    fn: async () => {
      await Promise.all([...commandClients, ...echoClients].map((c) => c.stop()));
      await Promise.all(writers.map((w) => w.stop()));
    },
  });
  for (let i = 0; i < DEVICES; i++) {
    const id = gateId(i);
    commandClients.push(
      new RoundTripClient({
        port: brokerPort,
        username: BENCH_USER,
        password,
        publishTopic: topics.command(BENCH_SITE, 'gate', id, 'unlock'),
        replyTopic: topics.result(BENCH_SITE, 'gate', id),
      }),
    );
    const echoTopic = `${ECHO_PREFIX}/${i + 1}`;
    echoClients.push(new RoundTripClient({ port: brokerPort, username: BENCH_USER, password, publishTopic: echoTopic, replyTopic: echoTopic }));
    writers.push(new ModbusWriter({ port: device.port, unit: gateUnit(i) }));
  }
  // Its file sits beside the gateway's data dir: the same file system, a file of its own.
  const fsyncFloor = new FsyncFloor(DATA_PARENT === tmpdir() ? tempDir : DATA_PARENT);
  await fsyncFloor.start();
  undo.push({ what: 'fsync floor file', fn: () => fsyncFloor.stop() });
  progress(`connecting ${DEVICES} command clients, ${DEVICES} echo clients, ${DEVICES} Modbus connections`);
  // In batches: each MQTT login costs the broker a scrypt, and a loaded machine would let a
  // hundred at once run past the client's CONNACK timeout.
  const starting = [...commandClients, ...echoClients, ...writers];
  for (let i = 0; i < starting.length; i += 10) await Promise.all(starting.slice(i, i + 10).map((c) => c.start()));

  const runTag = randomBytes(4).toString('hex');
  let nextId = 0;
  const commandProbe: Probe = async (lane) => {
    const reply = await commandClients[lane].send(`bench-${runTag}-${nextId++}`, { duration_ms: DURATION_MS });
    const body = reply.body as { status?: string; code?: string; timing?: { total_ms?: number; queued_ms?: number; run_ms?: number } };
    if (body.status !== 'ok') return { error: body.code ?? 'not_ok' };
    return {
      values: {
        round_trip: reply.ms,
        gateway_total: body.timing?.total_ms ?? Number.NaN,
        gateway_queued: body.timing?.queued_ms ?? Number.NaN,
        gateway_run: body.timing?.run_ms ?? Number.NaN,
      },
    };
  };
  // The same payload shape and size as a command; the coil is written `false`, the value it holds
  // while the gate is locked, so the gateway's polls see no change behind its back.
  const floorProbe: Probe = async (lane) => {
    const echo = await echoClients[lane].send(`bench-${runTag}-${nextId++}`, { duration_ms: DURATION_MS });
    const modbus = await writers[lane].writeCoil(0, false);
    return { values: { echo: echo.ms, modbus, sum: echo.ms + modbus } };
  };
  // The sequential floor of what a command must do: the two wires plus the claim's one fsync.
  const floorWithFsyncProbe: Probe = async (lane) => {
    const echo = await echoClients[lane].send(`bench-${runTag}-${nextId++}`, { duration_ms: DURATION_MS });
    const modbus = await writers[lane].writeCoil(0, false);
    const fsync = await fsyncFloor.writeAndSync();
    return { values: { echo: echo.ms, modbus, fsync, sum: echo.ms + modbus, sum_fsync: echo.ms + modbus + fsync } };
  };
  const echoProbe: Probe = async (lane) => ({ values: { echo: (await echoClients[lane].send(`bench-${runTag}-${nextId++}`, { duration_ms: DURATION_MS })).ms } });
  const modbusProbe: Probe = async (lane) => ({ values: { modbus: await writers[lane].writeCoil(0, false) } });

  const rng = new Random(SEED);
  const gap = () => rng.between([0, GAP_MAX_MS]);
  const noGap = () => 0;

  progress('warm-up');
  // Floor writes come before any command: they write `false`, and must not end a running pulse.
  await runPhase(floorWithFsyncProbe, { lanes: 1, rounds: 50, gapMs: noGap, budgetMs: PHASE_BUDGET_MS });
  await runPhase(floorProbe, { lanes: DEVICES, rounds: 5, gapMs: noGap, budgetMs: PHASE_BUDGET_MS });
  await runPhase(commandProbe, { lanes: 1, rounds: 50, gapMs: noGap, budgetMs: PHASE_BUDGET_MS });
  await runPhase(commandProbe, { lanes: DEVICES, rounds: 5, gapMs: noGap, budgetMs: PHASE_BUDGET_MS });
  await waitAllLocked(device);

  // What the gateway burns with no bench traffic (polls, timers), to take out of the per-command CPU.
  const idleCpuBefore = cpuMsOf(gateway.pid);
  await sleep(IDLE_WINDOW_MS);
  const backgroundCpuPerS = ((cpuMsOf(gateway.pid) - idleCpuBefore) * 1000) / IDLE_WINDOW_MS;

  const interleaved = (lanes: number, rounds: number, floor: Probe) => {
    progress(`gateway and floor, c=${lanes}: ${rounds} round(s) of ${lanes} each, in ${BLOCKS} alternating blocks`);
    return measureInterleaved({
      floor,
      gateway: commandProbe,
      lanes,
      rounds,
      blocks: BLOCKS,
      gapMs: gap,
      budgetMs: INTERLEAVED_BUDGET_MS,
      device,
      gatewayPid: gateway.pid,
    });
  };
  const roundTrips = WINDOWED_ONLY
    ? undefined
    : {
        c1: await interleaved(1, SAMPLES, floorWithFsyncProbe),
        cN: await interleaved(DEVICES, ROUNDS, floorProbe),
      };
  if (roundTrips) {
    const { c1, cN } = roundTrips;
    for (const [label, m] of [['gateway c=1', c1.gateway], ['floor c=1', c1.floor], [`gateway c=${DEVICES}`, cN.gateway], [`floor c=${DEVICES}`, cN.floor]] as const) {
      const asked = m.phase.rounds;
      if (m.phase.roundsRun < asked) progress(`${label}: ran ${m.phase.roundsRun} of ${asked} rounds (time budget)`);
    }
  }

  // Windowed throughput: the gateway, an MQTT echo loop and bare Modbus writes, each with DEVICES in
  // flight, in alternation so that load that comes and goes on the machine falls on all three.
  const windowed: { gateway: WindowedSide[]; echo: WindowedSide[]; modbus: WindowedSide[] } = { gateway: [], echo: [], modbus: [] };
  for (let repeat = 0; repeat < WINDOW_REPEATS; repeat++) {
    for (const side of ['echo', 'modbus', 'gateway'] as const) {
      // Bare writes of `false` must not end a running pulse.
      if (side === 'modbus') await waitAllLocked(device);
      const total = side === 'gateway' ? WINDOW_TOTAL : 2 * WINDOW_TOTAL;
      progress(`windowed ${side} ${repeat + 1}/${WINDOW_REPEATS}: ${total} with ${DEVICES} in flight`);
      const probe = side === 'gateway' ? commandProbe : side === 'echo' ? echoProbe : modbusProbe;
      const cpuBefore = cpuMsOf(gateway.pid);
      const result = await runWindowed(probe, { lanes: DEVICES, total, budgetMs: WINDOW_BUDGET_MS });
      windowed[side].push({ result, gatewayCpuMs: cpuMsOf(gateway.pid) - cpuBefore });
    }
  }
  await waitAllLocked(device);

  const memory = memoryOf(gateway.pid);
  const gatewayLogLines = gateway.lines;
  const gatewayLogTail = gateway.outputTail();

  progress('measuring an idle node process for comparison');
  const idle = new NodeProcess(['-e', IDLE_PROCESS_SOURCE], ROOT, { tsx: false });
  await idle.start();
  undo.push({ what: 'idle process', fn: () => idle.stop() });
  const idleDeadline = Date.now() + 15_000;
  while (idle.lines === 0 && idle.running && Date.now() < idleDeadline) await sleep(50);
  const idleNodeMemory = idle.running && idle.lines > 0 ? memoryOf(idle.pid) : undefined;
  await idle.stop();

  await cleanup();
  clearTimeout(limit);

  const { text, json } = renderFigures({
    settings: {
      devices: DEVICES,
      samples_c1: SAMPLES,
      rounds_cN: ROUNDS,
      blocks: BLOCKS,
      gap_ms_max: GAP_MAX_MS,
      poll_ms: POLL_MS,
      duration_ms: DURATION_MS,
      seed: SEED,
      log_level: LOG_LEVEL,
      window_total: WINDOW_TOTAL,
      window_repeats: WINDOW_REPEATS,
    },
    env: { node: process.version, cpus: cpus().length, gateway_dist: gatewayDist, data_fs: `${filesystemOf(DATA_PARENT)} (${DATA_PARENT})`, gateway_node_args: NODE_ARGS, gateway_slow_fsync_ms: SLOW_FSYNC_MS },
    roundTrips: roundTrips && { gateway1: roundTrips.c1.gateway, floor1: roundTrips.c1.floor, gatewayN: roundTrips.cN.gateway, floorN: roundTrips.cN.floor },
    windowed,
    backgroundCpuPerS,
    memory,
    memoryAtReady,
    idleNodeMemory,
    readyMs,
    gatewayLogLines,
    gatewayLogTail,
  });
  if (args.json) writeFileSync(String(args.json), JSON.stringify(json, null, 2) + '\n');
  process.stdout.write(text + '\n' + JSON.stringify(json) + '\n');
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    progress(`${signal}: cleaning up`);
    void cleanup().finally(() => process.exit(130));
  });
}

main().then(
  () => process.exit(0),
  async (err: unknown) => {
    process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    await cleanup();
    process.exit(1);
  },
);
