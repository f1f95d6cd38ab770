// The benchmark's printed table and its JSON figures.
import { summarize, type Summary } from './stats.js';

export interface Row {
  scenario: string;
  summary: Summary;
  errors: number;
}

export function row(scenario: string, samples: readonly number[] | undefined, errors = 0): Row {
  return { scenario, summary: summarize(samples ?? []), errors };
}

const ms = (x: number) => (Number.isFinite(x) ? x.toFixed(2) : '-');

export function formatTable(rows: readonly Row[]): string {
  const header = ['scenario', 'n', 'err', 'p50', 'p99', 'mean', 'max'];
  const cells = rows.map((r) => [
    r.scenario,
    String(r.summary.n),
    String(r.errors),
    ms(r.summary.p50),
    ms(r.summary.p99),
    ms(r.summary.mean),
    ms(r.summary.max),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  const line = (c: string[]) => c.map((v, i) => (i === 0 ? v.padEnd(widths[i]) : v.padStart(widths[i]))).join('  ');
  return [line(header) + '   (ms)', widths.map((w) => '-'.repeat(w)).join('  '), ...cells.map(line)].join('\n');
}

/** Rounds to 3 decimals so the JSON stays readable. */
export function rounded<T>(value: T): T {
  return JSON.parse(JSON.stringify(value, (_k, v: unknown) => (typeof v === 'number' && !Number.isInteger(v) ? Math.round(v * 1000) / 1000 : v))) as T;
}
