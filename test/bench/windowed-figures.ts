// The windowed phase's part of the report: rates of the gateway and of its two wire floors measured
// in the same run, the gateway's CPU per command, and how much the repeats differ.
import { summarize } from './stats.js';
import type { WindowedResult } from './windowed.js';

export interface WindowedSide {
  result: WindowedResult;
  /** CPU time the gateway process used while this repeat ran. */
  gatewayCpuMs: number;
}

export interface WindowedRuns {
  gateway: WindowedSide[];
  echo: WindowedSide[];
  modbus: WindowedSide[];
}

const errorCount = (r: WindowedResult) => Object.values(r.errors).reduce((a, b) => a + b, 0);
const median = (xs: number[]) => summarize(xs).p50;
const spread = (xs: number[]) => (xs.length ? `${Math.min(...xs).toFixed(0)}-${Math.max(...xs).toFixed(0)}` : '-');
const spread2 = (xs: number[]) => (xs.length ? `${Math.min(...xs).toFixed(3)}-${Math.max(...xs).toFixed(3)}` : '-');

export function windowedFigures(w: WindowedRuns, backgroundCpuPerS: number, lanes: number): { lines: string[]; json: unknown } {
  /** Gateway CPU per completed probe beyond its idle background. */
  const cpuPer = (s: WindowedSide) => (s.gatewayCpuMs - (backgroundCpuPerS * s.result.wallMs) / 1000) / Math.max(1, s.result.done);
  const rates = (sides: WindowedSide[]) => sides.map((s) => s.result.perS);
  const gatewayRates = rates(w.gateway);
  const echoRates = rates(w.echo);
  const modbusRates = rates(w.modbus);
  const cpu = w.gateway.map(cpuPer);
  const echoCpu = w.echo.map(cpuPer);
  // A command is one MQTT loop plus one Modbus write: its wire floor is the two in series.
  const wireFloor = 1 / (1 / median(echoRates) + 1 / median(modbusRates));
  const latency = summarize(w.gateway.flatMap((s) => s.result.values.round_trip ?? []));
  const lines = [
    `windowed throughput, ${lanes} in flight (${w.gateway.length} repeats; median, range):`,
    `  gateway unlock -> result  ${median(gatewayRates).toFixed(0)} commands/s (${spread(gatewayRates)}), ${w.gateway.map((s) => errorCount(s.result)).reduce((a, b) => a + b, 0)} errors,` +
      ` p50 ${latency.p50.toFixed(2)} / p99 ${latency.p99.toFixed(2)} ms`,
    `  floor: mqtt echo loop     ${median(echoRates).toFixed(0)} messages/s (${spread(echoRates)})`,
    `  floor: bare modbus write  ${median(modbusRates).toFixed(0)} writes/s (${spread(modbusRates)})`,
    `  wire floor of a command (echo and write in series): ${wireFloor.toFixed(0)}/s; gateway at ${(median(gatewayRates) / wireFloor).toFixed(2)} of it`,
    `  gateway CPU per command, idle background taken out: ${median(cpu).toFixed(3)} ms (${spread2(cpu)}); per echo: ${median(echoCpu).toFixed(3)} ms` +
      `; gateway cores busy: ${(w.gateway.map((s) => s.gatewayCpuMs / s.result.wallMs).reduce((a, b) => Math.max(a, b), 0)).toFixed(2)} at most`,
  ];
  const json = {
    lanes,
    gateway_commands_per_s: gatewayRates,
    echo_messages_per_s: echoRates,
    modbus_writes_per_s: modbusRates,
    wire_floor_per_s: wireFloor,
    gateway_cpu_ms_per_command: cpu,
    gateway_cpu_ms_per_echo: echoCpu,
    gateway_round_trip: latency,
    errors: w.gateway.map((s) => s.result.errors),
  };
  return { lines, json };
}
