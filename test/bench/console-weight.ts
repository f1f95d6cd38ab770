// The console's first-load weight: what the browser fetches to show the login and the overview
// (index.html, its stylesheet, app.js and every module it imports, followed through the static
// imports), raw and gzip-compressed as the console serves it, against the 150 KB budget of issue 14.
// usage: node --import tsx test/bench/console-weight.ts   (stdout: the table, then the figures as JSON)
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const UI = fileURLToPath(new URL('../../src/console/ui/', import.meta.url));
const BUDGET_BYTES = 150 * 1024;

/** The files index.html loads: its href/src under /assets/, and every module imported from there on. */
export function firstLoad(): string[] {
  const files = ['index.html'];
  const html = readFileSync(join(UI, 'index.html'), 'utf8');
  const queue = [...html.matchAll(/(?:href|src)="\/assets\/([^"]+)"/g)].map((m) => `assets/${m[1]}`);
  while (queue.length > 0) {
    const file = queue.shift()!;
    if (files.includes(file)) continue;
    files.push(file);
    if (!file.endsWith('.js')) continue;
    const source = readFileSync(join(UI, file), 'utf8');
    for (const m of source.matchAll(/^\s*(?:import|export)\s[^;]*?from\s+'\.\/([^']+)'/gm)) queue.push(`assets/${m[1]}`);
  }
  return files;
}

const rows = firstLoad().map((file) => {
  const content = readFileSync(join(UI, file));
  return { file, raw: content.length, gzip: gzipSync(content).length };
});
const total = { raw: rows.reduce((s, r) => s + r.raw, 0), gzip: rows.reduce((s, r) => s + r.gzip, 0) };
const width = Math.max(...rows.map((r) => r.file.length), 'total'.length);
const line = (name: string, raw: number, gzip: number) => `${name.padEnd(width)}  ${String(raw).padStart(7)}  ${String(gzip).padStart(7)}`;
console.log(`${'file'.padEnd(width)}  ${'raw B'.padStart(7)}  ${'gzip B'.padStart(7)}`);
for (const r of rows) console.log(line(r.file, r.raw, r.gzip));
console.log(line('total', total.raw, total.gzip));
console.log(`first load: ${(total.gzip / 1024).toFixed(1)} KB compressed, ${((100 * total.gzip) / BUDGET_BYTES).toFixed(1)}% of the ${BUDGET_BYTES / 1024} KB budget (${rows.length} files)`);
console.log(JSON.stringify({ bench: 'console-weight', files: rows.length, raw_bytes: total.raw, gzip_bytes: total.gzip, budget_bytes: BUDGET_BYTES }));
if (total.gzip > BUDGET_BYTES) process.exitCode = 1;
