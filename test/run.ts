// The test runner behind `npm test`: Node 20's --test does not expand globs, so find the files here.
// Usage: node --import tsx test/run.ts [substring ...]   (runs files whose path contains any substring)
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const testDir = dirname(fileURLToPath(import.meta.url));
const root = dirname(testDir);
// Benchmarks are run on purpose, never as part of the suite.
const excluded = [join(testDir, 'bench')];

function findTests(dir: string): string[] {
  const found: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (!excluded.includes(path) && entry.name !== 'node_modules') found.push(...findTests(path));
    } else if (entry.isFile() && entry.name.endsWith('.test.ts')) {
      found.push(relative(root, path));
    }
  }
  return found;
}

const filters = process.argv.slice(2);
const files = findTests(testDir)
  .filter((file) => filters.length === 0 || filters.some((f) => file.includes(f)))
  .sort();

if (files.length === 0) {
  console.error(`test/run.ts: no *.test.ts files under test/${filters.length ? ` matching ${filters.join(', ')}` : ''}`);
  process.exit(1);
}

const result = spawnSync(
  process.execPath,
  ['--import', 'tsx', '--test', '--test-reporter=spec', ...files],
  { cwd: root, stdio: 'inherit' },
);
if (result.error) {
  console.error(`test/run.ts: could not run node: ${result.error.message}`);
  process.exit(1);
}
process.exit(result.status ?? 1);
