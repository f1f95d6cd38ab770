// RTU benchmark: gate commands through the gateway over ONE Modbus RTU bus (a socat pty pair, Debian
// pymodbus serving 8 units at the far end) while every gate on that bus is polled, beside the ceiling
// measured in the same run on the same pty: a bare modbus-serial RTU client writing the same coil of
// the same units in sequence, with the gateway not yet started so the line is free. A second bare
// run keeps the bus's t3.5 inter-frame gap after each exchange, as the gateway's bus does.
//
// usage: node --import tsx test/bench/rtu-bench.ts [--json] [--baud N] [--poll-ms N] [--seconds N]
//          [--duration-ms N] [--log-level L]
// Progress goes to stderr. stdout gets the table and ratios, then the figures as one JSON line;
// with --json, stdout gets only the JSON line (the table goes to stderr).
import { randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import ModbusRTU from 'modbus-serial';
import { hashPassword } from '../../src/broker/password.js';
import { formatIssues, loadConfig } from '../../src/config.js';
import { topics } from '../../src/topics.js';
import { defaultInterFrameMs } from '../../src/transport/modbus-rtu.js';
import { startModbusDevice, type ModbusDevice } from '../support/modbus-device.js';
import { freePort } from '../support/ports.js';
import { startPtyPair } from '../support/pty-pair.js';
import { BENCH_GATEWAY, BENCH_SITE, BENCH_USER, gateId, gateUnit } from './bench-config.js';
import { waitForGatewayReady } from './gateway-ready.js';
import { NodeProcess } from './node-process.js';
import { buildRtuBenchConfig } from './rtu-bench-config.js';
import { RtuCommandClient } from './rtu-command-client.js';
import { summarize, type Summary } from './stats.js';
import { intOption } from './int-option.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const GATES = 8;
const OVERALL_LIMIT_MS = 90_000;
const READY_TIMEOUT_MS = 20_000;
const BARE_TIMEOUT_MS = 1_000;
const BARE_WARMUP_WRITES = 40;
const GATEWAY_WARMUP_ROUNDS = 3;
/** Lets the device's stdout records of the last writes arrive before they are counted. */
const RECORD_LAG_MS = 100;

const { values: args } = parseArgs({
  options: {
    json: { type: 'boolean', default: false },
    baud: { type: 'string', default: '115200' },
    'poll-ms': { type: 'string', default: '200' },
    seconds: { type: 'string', default: '10' },
    'duration-ms': { type: 'string', default: '100' },
    'log-level': { type: 'string', default: 'warn' },
  },
  strict: true,
});

const intArg = (name: 'baud' | 'poll-ms' | 'seconds' | 'duration-ms', min: number, max: number): number => intOption(args, name, min, max);

const BAUD = intArg('baud', 1200, 4_000_000);
const POLL_MS = intArg('poll-ms', 50, 60_000);
/** Measured window of each side (bare ceiling, gateway). */
const WINDOW_MS = intArg('seconds', 1, 20) * 1000;
const DURATION_MS = intArg('duration-ms', 100, 60_000);
const LOG_LEVEL = String(args['log-level']);
/** What the gateway's bus keeps between exchanges (its config default for this baud rate, 8N1). */
const GAP_MS = defaultInterFrameMs(BAUD, 8, 'none', 1);
/**
 * Time one Write Single Coil exchange would hold a real line at BAUD, 8N1 (10 bits a character):
 * 8-byte request, 8-byte reply, t3.5 after each (Modbus over Serial Line V1.02 section 2.5.1.1).
 * A pty does not pace bytes at the baud rate, so none of the figures measured here include it.
 */
const T35_MS = BAUD > 19_200 ? 1.75 : (3.5 * 10 * 1000) / BAUD;
const LINE_MS_PER_WRITE = (16 * 10 * 1000) / BAUD + 2 * T35_MS;

const progress = (msg: string) => process.stderr.write(`[rtu-bench] ${msg}\n`);
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

interface Side {
  summary: Summary;
  perSecond: number;
  wallMs: number;
  errors: Record<string, number>;
}

function side(latencies: number[], wallMs: number, errors: Record<string, number>): Side {
  return { summary: summarize(latencies), perSecond: (latencies.length * 1000) / wallMs, wallMs, errors };
}

type BareClient = InstanceType<typeof ModbusRTU.default>;

async function closeBare(client: BareClient): Promise<void> {
  if (!client.isOpen) return;
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, 2_000);
    client.close(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/**
 * The ceiling: Write Single Coil (function 05) to coil 0 of each unit in turn, one request on the
 * wire at a time. With gapMs 0 nothing is kept between frames beyond what the pty and the device
 * impose; with the bus's t3.5 gap it shows what that gap alone costs.
 */
async function measureBare(path: string, gapMs: number): Promise<Side> {
  const client = new ModbusRTU.default();
  client.on('error', () => {});
  await client.connectRTUBuffered(path, { baudRate: BAUD });
  client.setTimeout(BARE_TIMEOUT_MS);
  const errors: Record<string, number> = {};
  const latencies: number[] = [];
  let n = 0;
  const writeNext = async (): Promise<number | undefined> => {
    const unit = gateUnit(n % GATES);
    // Unlock on one pass over the units, relock on the next: the gateway's pulses, back to back.
    const value = Math.floor(n / GATES) % 2 === 0;
    n++;
    client.setID(unit);
    const startedAt = performance.now();
    try {
      await client.writeCoil(0, value);
      return performance.now() - startedAt;
    } catch (err) {
      const name = (err as { name?: string }).name ?? 'Error';
      errors[name] = (errors[name] ?? 0) + 1;
      return undefined;
    } finally {
      if (gapMs > 0) await sleep(gapMs);
    }
  };
  try {
    for (let i = 0; i < BARE_WARMUP_WRITES; i++) await writeNext();
    for (const key of Object.keys(errors)) delete errors[key];
    n = 0;
    const startedAt = performance.now();
    const end = startedAt + WINDOW_MS;
    while (performance.now() < end) {
      const ms = await writeNext();
      if (ms !== undefined) latencies.push(ms);
    }
    const wallMs = performance.now() - startedAt;
    // Leave every gate locked, as the gateway's on_start would anyway.
    for (let i = 0; i < GATES; i++) {
      client.setID(gateUnit(i));
      await client.writeCoil(0, false).catch(() => undefined);
    }
    return side(latencies, wallMs, errors);
  } finally {
    await closeBare(client);
  }
}

/** Coil-0 writes (unlocks, relocks) the device recorded between two epoch-ms instants. */
function wireWrites(device: ModbusDevice, from: number, to: number): { unlocks: number; relocks: number } {
  let unlocks = 0;
  let relocks = 0;
  for (const w of device.writes) {
    if (w.table !== 'co' || w.address !== 0 || w.t < from || w.t > to) continue;
    if (w.values[0] === true) unlocks++;
    else relocks++;
  }
  return { unlocks, relocks };
}

function buildDist(): string {
  try {
    execFileSync(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', ROOT], { stdio: ['ignore', 'ignore', 'inherit'] });
    return 'fresh';
  } catch (err) {
    // tsc emits despite type errors (in other files under way); run what it emitted, but say so.
    if (!existsSync(join(ROOT, 'dist', 'src', 'cli.js'))) throw err;
    progress('tsc reported errors; running the JavaScript it emitted anyway');
    return 'emitted with tsc errors';
  }
}

const fmt = (x: number, digits = 1) => (Number.isFinite(x) ? x.toFixed(digits) : 'n/a');

async function main(): Promise<void> {
  const limit = setTimeout(() => {
    progress(`over the ${OVERALL_LIMIT_MS / 1000} s limit: aborting`);
    void cleanup().finally(() => process.exit(1));
  }, OVERALL_LIMIT_MS);
  limit.unref();

  const tempDir = mkdtempSync(join(tmpdir(), 'gatehouse-rtu-bench-'));
  undo.push({ what: 'temp dir', fn: () => rmSync(tempDir, { recursive: true, force: true }) });

  progress('starting socat pty pair');
  const pty = await startPtyPair();
  undo.push({ what: 'socat pty pair', fn: () => pty.dispose() });
  const units = Array.from({ length: GATES }, (_, i) => gateUnit(i));
  progress(`starting pymodbus RTU device on ${pty.b} at ${BAUD} baud with units ${units.join(',')}`);
  const device = await startModbusDevice({ rtuPath: pty.b, baud: BAUD, units });
  undo.push({ what: 'pymodbus device', fn: () => device.stop() });

  progress(`ceiling: bare modbus-serial RTU client, ${WINDOW_MS / 1000} s of sequential coil writes over ${GATES} units`);
  let from = Date.now();
  const bare = await measureBare(pty.a, 0);
  await sleep(RECORD_LAG_MS);
  const bareWire = wireWrites(device, from, Date.now());
  progress(`the same with the bus's inter-frame gap (${GAP_MS} ms) after each exchange`);
  from = Date.now();
  const bareGap = await measureBare(pty.a, GAP_MS);
  await sleep(RECORD_LAG_MS);
  const bareGapWire = wireWrites(device, from, Date.now());

  progress('building dist/ (tsc) so the gateway runs as compiled JavaScript');
  const build = buildDist();

  const password = randomBytes(12).toString('hex');
  const brokerPort = await freePort();
  const dataDir = join(tempDir, 'data');
  const configFile = join(tempDir, 'rtu-bench.json');
  const document = buildRtuBenchConfig({
    brokerPort,
    serialPath: pty.a,
    baudRate: BAUD,
    gates: GATES,
    pollMs: POLL_MS,
    dataDir,
    passwordHash: await hashPassword(password),
    logLevel: LOG_LEVEL,
  });
  writeFileSync(configFile, JSON.stringify(document, null, 2));
  const checked = loadConfig({ file: configFile, env: {} });
  if (!checked.ok) throw new Error(`rtu bench config is invalid:\n${formatIssues(checked.issues)}`);

  progress(`starting gateway: node dist/src/cli.js run --config ${configFile} (broker 127.0.0.1:${brokerPort})`);
  const gateway = new NodeProcess(['dist/src/cli.js', 'run', '--config', configFile], ROOT, { tsx: false });
  await gateway.start();
  undo.push({ what: 'gateway process', fn: () => gateway.stop() });
  const startedAt = Date.now();
  await waitForGatewayReady({
    port: brokerPort,
    username: BENCH_USER,
    password,
    stateTopic: topics.gatewayState(BENCH_SITE, BENCH_GATEWAY),
    devices: GATES,
    timeoutMs: READY_TIMEOUT_MS,
    alive: () => gateway.running,
    describe: () => gateway.outputTail(),
  });
  const readyMs = Date.now() - startedAt;
  progress(`gateway ready in ${readyMs} ms, ${GATES} gates online on one bus, poll_ms ${POLL_MS}`);

  const gates = Array.from({ length: GATES }, (_, i) => gateId(i));
  const commands = new RtuCommandClient({ port: brokerPort, username: BENCH_USER, password, site: BENCH_SITE, gates });
  undo.push({ what: 'MQTT command client', fn: () => commands.stop() });
  await commands.start();

  const runTag = randomBytes(4).toString('hex');
  let nextId = 0;
  const errors: Record<string, number> = {};
  const latencies: number[] = [];
  const unlock = async (gate: string): Promise<number | undefined> => {
    try {
      const reply = await commands.send(gate, 'unlock', `rtu-${runTag}-${nextId++}`, { duration_ms: DURATION_MS });
      if (reply.body.status === 'ok') return reply.ms;
      const code = reply.body.code ?? 'not_ok';
      errors[code] = (errors[code] ?? 0) + 1;
    } catch (err) {
      errors.no_result = (errors.no_result ?? 0) + 1;
      progress((err as Error).message);
    }
    return undefined;
  };

  progress('warm-up');
  for (let r = 0; r < GATEWAY_WARMUP_ROUNDS; r++) await Promise.all(gates.map((g) => unlock(g)));
  for (const key of Object.keys(errors)) delete errors[key];

  progress(`gateway: ${WINDOW_MS / 1000} s of unlocks, one in flight per gate (${GATES} in flight), duration_ms ${DURATION_MS}`);
  const windowFrom = Date.now();
  const gwStartedAt = performance.now();
  const end = gwStartedAt + WINDOW_MS;
  await Promise.all(
    gates.map(async (gate) => {
      while (performance.now() < end) {
        const ms = await unlock(gate);
        if (ms !== undefined) latencies.push(ms);
      }
    }),
  );
  const gwWallMs = performance.now() - gwStartedAt;
  const windowTo = Date.now();
  const gw = side(latencies, gwWallMs, errors);
  await sleep(RECORD_LAG_MS);
  const writes = wireWrites(device, windowFrom, windowTo);
  const gatewayLogLines = gateway.lines;
  const gatewayLogTail = gateway.outputTail();

  await cleanup();
  clearTimeout(limit);

  const ratios = {
    commands_per_s: gw.perSecond / bare.perSecond,
    p99: gw.summary.p99 / bare.summary.p99,
    p50: gw.summary.p50 / bare.summary.p50,
    commands_per_s_vs_gap: gw.perSecond / bareGap.perSecond,
    p99_vs_gap: gw.summary.p99 / bareGap.summary.p99,
  };
  const row = (label: string, s: Side, unit: string) =>
    `${label.padEnd(38)} ${String(s.summary.n).padStart(6)} ${fmt(s.perSecond).padStart(9)} ${unit.padEnd(10)} ${fmt(s.summary.p50, 2).padStart(8)} ${fmt(s.summary.p99, 2).padStart(8)} ${fmt(s.summary.max, 2).padStart(8)}  ${JSON.stringify(s.errors)}`;
  const lines = [
    `RTU bus benchmark: ${GATES} units on one socat pty pair, pymodbus ${BAUD} baud 8N1, node ${process.version}, ${cpus().length} cpus`,
    `gateway: ${GATES} gates, poll_ms ${POLL_MS} each (coil + discrete input), unlock duration_ms ${DURATION_MS}, ${GATES} in flight (one per gate), ${fmt(gw.wallMs / 1000, 1)} s; dist ${build}`,
    `bare:    one modbus-serial RTU client, Write Single Coil to units 1..${GATES} in turn, 1 in flight, ${fmt(bare.wallMs / 1000, 1)} s each, gateway not running`,
    '',
    `${'path'.padEnd(38)} ${'n'.padStart(6)} ${'rate'.padStart(9)} ${''.padEnd(10)} ${'p50 ms'.padStart(8)} ${'p99 ms'.padStart(8)} ${'max ms'.padStart(8)}  errors`,
    row('gateway: MQTT unlock -> RTU -> result', gw, 'cmd/s'),
    row('bare modbus-serial coil write (ceiling)', bare, 'writes/s'),
    row(`bare + ${GAP_MS} ms inter-frame gap`, bareGap, 'writes/s'),
    '',
    `ratio gateway commands/s / bare writes/s: ${fmt(ratios.commands_per_s, 3)}   (vs bare + gap: ${fmt(ratios.commands_per_s_vs_gap, 3)})`,
    `ratio gateway p99 / bare p99:             ${fmt(ratios.p99, 2)}   (p50: ${fmt(ratios.p50, 2)}; p99 vs bare + gap: ${fmt(ratios.p99_vs_gap, 2)})`,
    `device recorded ${bareWire.unlocks + bareWire.relocks} bare writes, ${bareGapWire.unlocks + bareGapWire.relocks} bare + gap writes`,
    `a real ${BAUD} baud line would hold each write exchange ${fmt(LINE_MS_PER_WRITE, 2)} ms (bytes + 2 x t3.5), a ceiling of ${fmt(1000 / LINE_MS_PER_WRITE, 0)} writes/s; the pty does not pace bytes, so no figure above includes it`,
    `coil-0 writes on the wire during the gateway window: ${writes.unlocks} unlocks, ${writes.relocks} relocks (plus polls); gateway log lines at ${LOG_LEVEL}: ${gatewayLogLines}`,
  ];
  if (gatewayLogLines > 0) lines.push('gateway log tail:', gatewayLogTail);
  const json = {
    bench: 'rtu',
    settings: { gates: GATES, baud: BAUD, poll_ms: POLL_MS, duration_ms: DURATION_MS, window_ms: WINDOW_MS, in_flight: GATES, log_level: LOG_LEVEL, dist: build },
    env: { node: process.version, cpus: cpus().length },
    gateway: { ...gw.summary, commands_per_s: gw.perSecond, wall_ms: gw.wallMs, errors: gw.errors, wire_unlocks: writes.unlocks, wire_relocks: writes.relocks, ready_ms: readyMs, log_lines: gatewayLogLines },
    bare: { ...bare.summary, writes_per_s: bare.perSecond, wall_ms: bare.wallMs, errors: bare.errors, device_writes: bareWire.unlocks + bareWire.relocks },
    bare_gap: { ...bareGap.summary, gap_ms: GAP_MS, writes_per_s: bareGap.perSecond, wall_ms: bareGap.wallMs, errors: bareGap.errors, device_writes: bareGapWire.unlocks + bareGapWire.relocks },
    line_ms_per_write_at_baud: LINE_MS_PER_WRITE,
    ratios,
  };
  const text = lines.join('\n') + '\n';
  if (args.json) process.stderr.write(text);
  else process.stdout.write(text);
  process.stdout.write(JSON.stringify(json) + '\n');
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
    process.stderr.write(`rtu bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    await cleanup();
    process.exit(1);
  },
);
