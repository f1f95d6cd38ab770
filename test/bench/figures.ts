// Turns the measurements of one bench run into the printed report and the JSON figures.
import type { Measured } from './measure.js';
import type { PhaseResult } from './phases.js';
import type { MemoryFigures } from './proc-stats.js';
import { formatTable, rounded, row, type Row } from './report.js';
import { summarize } from './stats.js';
import { windowedFigures, type WindowedRuns } from './windowed-figures.js';

export interface BenchSettings {
  devices: number;
  samples_c1: number;
  rounds_cN: number;
  blocks: number;
  gap_ms_max: number;
  poll_ms: number;
  duration_ms: number;
  seed: number;
  log_level: string;
  window_total: number;
  window_repeats: number;
}

export interface BenchRun {
  settings: BenchSettings;
  env: { node: string; cpus: number; gateway_dist: string; data_fs: string; gateway_node_args: string[]; gateway_slow_fsync_ms: number };
  /** Absent with --windowed-only. */
  roundTrips: { gateway1: Measured; floor1: Measured; gatewayN: Measured; floorN: Measured } | undefined;
  windowed: WindowedRuns;
  /** Gateway CPU with no bench traffic (polls, timers), ms per s. */
  backgroundCpuPerS: number;
  memory: MemoryFigures;
  memoryAtReady: MemoryFigures;
  idleNodeMemory: MemoryFigures | undefined;
  readyMs: number;
  gatewayLogLines: number;
  gatewayLogTail: string;
}

const errorCount = (p: PhaseResult) => Object.values(p.errors).reduce((a, b) => a + b, 0);

function ratio(gateway: Measured, floor: Measured) {
  const g = summarize(gateway.phase.values.round_trip ?? []);
  const paired = summarize(floor.phase.values.sum ?? []);
  const echo = summarize(floor.phase.values.echo ?? []);
  const modbus = summarize(floor.phase.values.modbus ?? []);
  return {
    gateway_p99_ms: g.p99,
    floor_p99_paired_ms: paired.p99,
    floor_p99_component_sum_ms: echo.p99 + modbus.p99,
    p99_ratio_paired: g.p99 / paired.p99,
    p99_ratio_component_sum: g.p99 / (echo.p99 + modbus.p99),
    p50_ratio_paired: g.p50 / paired.p50,
    ...fsyncRatio(g.p99, floor),
  };
}

/** Against the floor with the claim's fsync in it (measured at c=1 only). */
function fsyncRatio(gatewayP99: number, floor: Measured) {
  if (!floor.phase.values.sum_fsync) return {};
  const withFsync = summarize(floor.phase.values.sum_fsync);
  const fsync = summarize(floor.phase.values.fsync ?? []);
  return { fsync_p50_ms: fsync.p50, fsync_p99_ms: fsync.p99, floor_p99_with_fsync_ms: withFsync.p99, p99_ratio_with_fsync: gatewayP99 / withFsync.p99 };
}

export function renderFigures(run: BenchRun): { text: string; json: unknown } {
  const { settings: s } = run;
  const cN = `c=${s.devices}`;
  const windowed = windowedFigures(run.windowed, run.backgroundCpuPerS, s.devices);
  const header = [
    '',
    `gatehouse bench: ${s.devices} gates on one pymodbus device (own connection + unit each), poll_ms ${s.poll_ms}, unlock duration_ms ${s.duration_ms},`,
    `random gap 0..${s.gap_ms_max} ms between rounds (seed ${s.seed}), gateway and floor in ${s.blocks} alternating blocks;` +
      ` gateway = child process${run.env.gateway_node_args.length ? ` (node ${run.env.gateway_node_args.join(' ')})` : ''}, log level ${s.log_level};` +
      ` data dir on ${run.env.data_fs}${run.env.gateway_slow_fsync_ms ? `, every fsync of the gateway ${run.env.gateway_slow_fsync_ms} ms slower` : ''}; ${run.env.cpus} CPUs, node ${run.env.node}`,
    '',
  ];
  if (!run.roundTrips) {
    const json = rounded({ bench: 'gatehouse windowed throughput', settings: s, env: { ...run.env, background_cpu_ms_per_s: run.backgroundCpuPerS }, windowed: windowed.json });
    return { text: [...header, ...windowed.lines].join('\n'), json };
  }
  const { gateway1, floor1, gatewayN, floorN } = run.roundTrips;

  const rows: Row[] = [];
  const floorRows = (label: string, m: Measured) => {
    rows.push(row(`floor ${label}: mqtt echo`, m.phase.values.echo, errorCount(m.phase)));
    rows.push(row(`floor ${label}: modbus write`, m.phase.values.modbus, errorCount(m.phase)));
    rows.push(row(`floor ${label}: echo+modbus (paired)`, m.phase.values.sum, errorCount(m.phase)));
    if (m.phase.values.fsync) {
      rows.push(row(`floor ${label}: fsync (${run.env.data_fs.split(' ')[0]})`, m.phase.values.fsync, errorCount(m.phase)));
      rows.push(row(`floor ${label}: echo+modbus+fsync`, m.phase.values.sum_fsync, errorCount(m.phase)));
    }
  };
  rows.push(row('gateway c=1: unlock -> result', gateway1.phase.values.round_trip, errorCount(gateway1.phase)));
  floorRows('c=1', floor1);
  rows.push(row(`gateway ${cN}: unlock -> result`, gatewayN.phase.values.round_trip, errorCount(gatewayN.phase)));
  floorRows(cN, floorN);

  const internalRows: Row[] = [];
  for (const [label, m] of [['c=1', gateway1], [cN, gatewayN]] as const) {
    internalRows.push(row(`gateway ${label}: result timing.total_ms`, m.phase.values.gateway_total));
    internalRows.push(row(`gateway ${label}: result timing.queued_ms`, m.phase.values.gateway_queued));
    internalRows.push(row(`gateway ${label}: result timing.run_ms`, m.phase.values.gateway_run));
  }

  const ratios = { c1: ratio(gateway1, floor1), cN: ratio(gatewayN, floorN) };
  /** Gateway CPU per probe beyond its idle background; the floor's is what an echo costs the broker. */
  const cpuPerProbe = (m: Measured, key: string) => {
    const n = m.phase.values[key]?.length ?? 0;
    return n ? (m.gatewayCpuMs - (run.backgroundCpuPerS * m.phase.wallMs) / 1000) / n : Number.NaN;
  };
  // Only the c=N blocks are short and busy enough for the probes to stand out of the background.
  const cpu = { command_cN: cpuPerProbe(gatewayN, 'round_trip'), echo_cN: cpuPerProbe(floorN, 'sum') };

  const { memory, memoryAtReady, idleNodeMemory } = run;
  const out: string[] = [
    ...header,
    formatTable(rows),
    '',
    'ratio gateway p99 / floor p99:',
  ];
  for (const [label, r] of [['c=1', ratios.c1], [cN, ratios.cN]] as const) {
    out.push(
      `  ${label.padEnd(5)} ${r.p99_ratio_paired.toFixed(2)} (floor = p99 of paired echo+modbus, ${r.floor_p99_paired_ms.toFixed(2)} ms)` +
        `   ${r.p99_ratio_component_sum.toFixed(2)} (floor = echo p99 + modbus p99, ${r.floor_p99_component_sum_ms.toFixed(2)} ms)` +
        `   p50 ratio ${r.p50_ratio_paired.toFixed(2)}`,
    );
    if (r.p99_ratio_with_fsync !== undefined)
      out.push(`        ${r.p99_ratio_with_fsync.toFixed(2)} (floor = p99 of paired echo+modbus+fsync, ${r.floor_p99_with_fsync_ms.toFixed(2)} ms; fsync alone p50 ${r.fsync_p50_ms.toFixed(2)} / p99 ${r.fsync_p99_ms.toFixed(2)})`);
  }
  out.push(
    '',
    "inside the gateway (each result's timing; whole ms from Date.now):",
    formatTable(internalRows),
    '',
    `gateway CPU per probe at ${cN}, idle background of ${run.backgroundCpuPerS.toFixed(0)} ms/s taken out (10 ms ticks, rough):` +
      ` ${cpu.command_cN.toFixed(2)} ms per command, ${cpu.echo_cN.toFixed(2)} ms per echo`,
    '',
    ...windowed.lines,
    '',
    `coil-0 writes the device saw during the gateway blocks: c=1 ${gateway1.writes.unlocks} unlock + ${gateway1.writes.relocks} relock,` +
      ` ${cN} ${gatewayN.writes.unlocks} unlock + ${gatewayN.writes.relocks} relock`,
    `gateway RSS after the run: ${memory.rssMb.toFixed(1)} MB (peak ${memory.peakRssMb.toFixed(1)} MB, at ready ${memoryAtReady.rssMb.toFixed(1)} MB;` +
      ` an idle node process: ${idleNodeMemory ? idleNodeMemory.rssMb.toFixed(1) : '?'} MB); ready in ${run.readyMs} ms`,
    `gateway output lines at log level ${s.log_level}: ${run.gatewayLogLines}` +
      (run.gatewayLogLines ? `; last:\n${run.gatewayLogTail.split('\n').slice(-5).join('\n')}` : ''),
  );

  const summaryOf = (m: Measured, keys: string[]) =>
    Object.fromEntries([
      ...keys.map((k) => [k, summarize(m.phase.values[k] ?? [])]),
      ['errors', m.phase.errors],
      ['lanes', m.phase.lanes],
      ['rounds_run', m.phase.roundsRun],
      ['wall_ms', m.phase.wallMs],
      ['gateway_cpu_ms', m.gatewayCpuMs],
      ['coil_writes', m.writes],
    ]);
  const json = rounded({
    bench: 'gatehouse gate unlock round trip vs floor',
    settings: s,
    env: { ...run.env, background_cpu_ms_per_s: run.backgroundCpuPerS },
    gateway_c1: summaryOf(gateway1, ['round_trip', 'gateway_total', 'gateway_queued', 'gateway_run']),
    floor_c1: summaryOf(floor1, ['echo', 'modbus', 'sum', 'fsync', 'sum_fsync']),
    gateway_cN: summaryOf(gatewayN, ['round_trip', 'gateway_total', 'gateway_queued', 'gateway_run']),
    floor_cN: summaryOf(floorN, ['echo', 'modbus', 'sum']),
    ratios,
    gateway_cpu_ms_per_probe: cpu,
    windowed: windowed.json,
    memory: {
      gateway_rss_mb: memory.rssMb,
      gateway_peak_rss_mb: memory.peakRssMb,
      gateway_rss_at_ready_mb: memoryAtReady.rssMb,
      idle_node_rss_mb: idleNodeMemory?.rssMb ?? null,
      measured: 'child process, /proc/<pid>/status VmRSS and VmHWM',
    },
    gateway_ready_ms: run.readyMs,
    gateway_log_lines: run.gatewayLogLines,
  });
  return { text: out.join('\n'), json };
}
