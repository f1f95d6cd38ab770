// `gatehouse probe modbus ADDRESS`: reads, one confirmed write, or a unit scan, printed for a
// technician or as one JSON document (--json). Exit 0 when every request was answered, 1 when the
// link could not be opened or a request failed, 2 for a mistake on the command line.
import { createInterface } from 'node:readline/promises';
import { ModbusProbe, ProbeConnectError, probeError, type ProbeError, type ReadOutcome, type ScanOutcome } from '../commissioning/modbus-probe.js';
import { describeWrite, parseRead, parseScan, parseUnit, parseWrite, TABLE_WORDS, type ReadRequest, type WriteRequest } from '../commissioning/modbus-requests.js';
import { describeModbusTarget, parseModbusTarget, unitProblems } from '../commissioning/modbus-target.js';

type Values = Record<string, string | boolean | string[] | undefined>;

export const MODBUS_TIMEOUT_MS = 1000;
/** A unit that is not there never answers: a scan waits less for each one. */
export const SCAN_TIMEOUT_MS = 200;

interface Plan {
  unit: number;
  reads: ReadRequest[];
  write?: WriteRequest;
  scan?: number[];
  timeoutMs: number;
}

interface Report {
  target: string;
  unit?: number;
  write?: WriteRequest & { error?: ProbeError; readback?: boolean | number };
  reads?: ReadOutcome[];
  scan?: { units: string; answered: number[]; results: ScanOutcome[] };
}

function fail(message: string): number {
  process.stderr.write(`gatehouse probe: ${message}\n`);
  return 2;
}

function list(value: string | boolean | string[] | undefined): string[] {
  return value === undefined || typeof value === 'boolean' ? [] : Array.isArray(value) ? value : [value];
}

function plan(values: Values): Plan | string[] {
  const problems: string[] = [];
  const unit = parseUnit(String(values.unit ?? '1'));
  if (typeof unit === 'string') problems.push(unit);
  const reads = list(values.read).map(parseRead);
  for (const r of reads) if (typeof r === 'string') problems.push(r);
  const writes = list(values.write);
  if (writes.length > 1) problems.push('one --write per probe');
  const write = writes.length === 1 ? parseWrite(writes[0]) : undefined;
  if (typeof write === 'string') problems.push(write);
  const scan = values.scan === undefined ? undefined : parseScan(String(values.scan));
  if (typeof scan === 'string') problems.push(scan);
  if (scan !== undefined && (reads.length > 0 || write !== undefined)) problems.push('--scan goes alone: scan first, then --read or --write the unit it found');
  if (scan === undefined && reads.length === 0 && write === undefined) problems.push('nothing to do: give --read TABLE:ADDRESS:COUNT, --write TABLE:ADDRESS=VALUE or --scan FIRST-LAST');
  for (const key of ['user', 'password']) if (values[key] !== undefined) problems.push(`--${key} is for probe onvif`);
  const defaultTimeout = scan === undefined ? MODBUS_TIMEOUT_MS : SCAN_TIMEOUT_MS;
  const timeoutText = values.timeout === undefined ? String(defaultTimeout) : String(values.timeout);
  const timeoutMs = /^\d+$/.test(timeoutText) ? Number(timeoutText) : NaN;
  if (Number.isNaN(timeoutMs)) problems.push(`--timeout ${timeoutText}: expected milliseconds`);
  if (problems.length > 0) return problems;
  return { unit: unit as number, reads: reads as ReadRequest[], write: write as WriteRequest | undefined, scan: scan as number[] | undefined, timeoutMs };
}

/** Asks on the terminal; anything but y or yes is a no. */
async function confirmed(question: string): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await rl.question(`${question} [y/N] `);
    return /^y(es)?$/i.test(answer.trim());
  } finally {
    rl.close();
  }
}

export async function probeModbus(address: string, values: Values): Promise<number> {
  const planned = plan(values);
  if (Array.isArray(planned)) return fail(planned.join('\n'));
  const parsed = parseModbusTarget(address, planned.timeoutMs);
  if (parsed.target === undefined) return fail(parsed.problems.join('\n'));
  const where = describeModbusTarget(parsed.target);
  const { unit, write } = planned;
  const unitProblem = planned.scan === undefined ? unitProblems(parsed.target, unit) : [];
  if (unitProblem.length > 0) return fail(unitProblem.join('\n'));
  if (write !== undefined && values.yes !== true) {
    const question = `write ${describeWrite(write)} to unit ${unit} at ${where}?`;
    if (!process.stdin.isTTY) return fail(`${question} refused: a write needs confirmation on a terminal, or --yes`);
    if (!(await confirmed(question))) {
      process.stderr.write('gatehouse probe: nothing written\n');
      return 1;
    }
  }

  let link: ModbusProbe;
  try {
    link = await ModbusProbe.open(parsed.target);
  } catch (err) {
    if (!(err instanceof ProbeConnectError)) throw err;
    process.stderr.write(`gatehouse probe: ${err.message}\n`);
    return 1;
  }
  const report: Report = { target: where };
  try {
    if (planned.scan !== undefined) {
      const results = await link.scan(planned.scan);
      report.scan = { units: `${planned.scan[0]}-${planned.scan.at(-1)}`, answered: results.filter((r) => r.answered).map((r) => r.unit), results };
    } else {
      report.unit = unit;
      if (write !== undefined) report.write = await writeAndReadBack(link, unit, write);
      if (planned.reads.length > 0) report.reads = await link.read(unit, planned.reads);
    }
  } finally {
    await link.close();
  }
  process.stdout.write(values.json === true ? `${JSON.stringify(report, null, 2)}\n` : formatReport(report));
  const failed = report.write?.error !== undefined || (report.reads ?? []).some((r) => r.error !== undefined) || (report.scan !== undefined && report.scan.results.some((r) => r.error?.code === 'offline'));
  return failed ? 1 : 0;
}

async function writeAndReadBack(link: ModbusProbe, unit: number, write: WriteRequest): Promise<NonNullable<Report['write']>> {
  try {
    await link.write(unit, write);
  } catch (err) {
    return { ...write, error: probeError(err) };
  }
  const [back] = await link.read(unit, [{ table: write.table, address: write.address, count: 1 }]);
  return back.values === undefined ? { ...write } : { ...write, readback: back.values[0] };
}

function formatValue(value: boolean | number): string {
  return typeof value === 'boolean' ? (value ? '1' : '0') : String(value);
}

function formatError(error: ProbeError): string {
  return `  error: ${error.message}`;
}

function formatRead(r: ReadOutcome, unit: number): string[] {
  const last = r.address + r.count - 1;
  const head = `unit ${unit} ${TABLE_WORDS[r.table]} ${r.address}${r.count > 1 ? `..${last}` : ''}:`;
  if (r.values === undefined) return [head, formatError(r.error as ProbeError)];
  if (r.table === 'coil' || r.table === 'discrete_input') {
    // Eight to a row, as the bits of a byte, each row labelled with its first address.
    const rows: string[] = [];
    for (let i = 0; i < r.values.length; i += 8) {
      rows.push(`  ${String(r.address + i).padStart(5)}  ${r.values.slice(i, i + 8).map(formatValue).join(' ')}`);
    }
    return [head, ...rows];
  }
  return [head, ...r.values.map((v, i) => `  ${String(r.address + i).padStart(5)}  ${String(v).padStart(5)}  0x${(v as number).toString(16).padStart(4, '0')}`)];
}

export function formatReport(report: Report): string {
  const lines = [report.target];
  if (report.scan !== undefined) {
    const { answered, results, units } = report.scan;
    lines.push(`scan of units ${units}: ${answered.length === 0 ? 'no unit answered' : `${answered.length} answered: ${answered.join(', ')}`}`);
    for (const r of results.filter((x) => x.answered)) {
      lines.push(`  unit ${r.unit}: ${r.error === undefined ? `answers (value ${formatValue(r.value as boolean | number)})` : `answers with ${r.error.message}`}`);
    }
    const stopped = results.find((r) => r.error?.code === 'offline');
    if (stopped !== undefined) lines.push(`scan stopped at unit ${stopped.unit}: ${stopped.error?.message}`);
  }
  if (report.write !== undefined) {
    const w = report.write;
    if (w.error !== undefined) lines.push(`write ${describeWrite(w)} to unit ${report.unit} failed`, formatError(w.error));
    else lines.push(`wrote ${describeWrite(w)} to unit ${report.unit}${w.readback === undefined ? '' : `; reads back ${formatValue(w.readback)}`}`);
  }
  for (const r of report.reads ?? []) lines.push(...formatRead(r, report.unit as number));
  return `${lines.join('\n')}\n`;
}
