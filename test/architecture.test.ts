// Dependency rules of DESIGN.md section 4 that a regex over the sources can check: no import
// cycles. Every `import`/`export ... from` between files of src/ counts, type-only ones too (they
// tie the modules together just the same), and dynamic `import()` (loaded later, still a dependency).
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const src = join(root, 'src');

// Cycles outside src/broker/ found when this test was written; other work removes them. A new
// cycle fails the test; one that is gone is reported so that it can leave this list.
const KNOWN_CYCLES: string[][] = [
  // Each subcommand imports the CliCommand type from the index that imports every subcommand.
  [
    'src/cli/check.ts',
    'src/cli/demo.ts',
    'src/cli/index.ts',
    'src/cli/journal.ts',
    'src/cli/outbox.ts',
    'src/cli/passwd.ts',
    'src/cli/ports.ts',
    'src/cli/run.ts',
    'src/cli/simulate.ts',
    'src/cli/status.ts',
    'src/cli/version.ts',
  ],
  // migrations.ts imports the SqliteDatabase type from database.ts, which runs the migrations.
  ['src/store/database.ts', 'src/store/migrations.ts'],
];

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.isFile() && entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') ? [path] : [];
  });
}

const SPECIFIERS = [
  // import x from '...', import type { x } from '...', export { x } from '...', export * from '...' (over several lines too)
  /(?:^|[\n;])\s*(?:import|export)\s[^;'"`]*?\sfrom\s*['"]([^'"]+)['"]/g,
  // import '...'
  /(?:^|[\n;])\s*import\s*['"]([^'"]+)['"]/g,
  // import('...')
  /\bimport\(\s*['"]([^'"]+)['"]\s*\)/g,
];

/** Files of src/ that `file` imports (relative specifiers only; './x.js' is './x.ts'). */
function importsOf(file: string, known: ReadonlySet<string>): string[] {
  const text = readFileSync(file, 'utf8')
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .replace(/^\s*\/\/.*$/gm, '');
  const found = new Set<string>();
  for (const pattern of SPECIFIERS) {
    for (const match of text.matchAll(pattern)) {
      const specifier = match[1];
      if (!specifier.startsWith('.')) continue;
      const target = resolve(dirname(file), specifier.replace(/\.js$/, '.ts'));
      const candidates = [target, `${target}.ts`, join(target, 'index.ts')];
      const hit = candidates.find((candidate) => known.has(candidate));
      if (hit) found.add(hit);
    }
  }
  return [...found];
}

/** Strongly connected components with more than one file, or a file importing itself (Tarjan). */
function cycles(graph: ReadonlyMap<string, readonly string[]>): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (node: string): void => {
    index.set(node, next);
    low.set(node, next++);
    stack.push(node);
    onStack.add(node);
    for (const to of graph.get(node) ?? []) {
      if (!index.has(to)) {
        visit(to);
        low.set(node, Math.min(low.get(node)!, low.get(to)!));
      } else if (onStack.has(to)) {
        low.set(node, Math.min(low.get(node)!, index.get(to)!));
      }
    }
    if (low.get(node) !== index.get(node)) return;
    const component: string[] = [];
    let member: string;
    do {
      member = stack.pop()!;
      onStack.delete(member);
      component.push(member);
    } while (member !== node);
    if (component.length > 1 || (graph.get(node) ?? []).includes(node)) found.push(component.map((f) => relative(root, f)).sort());
  };
  for (const node of [...graph.keys()].sort()) if (!index.has(node)) visit(node);
  return found.sort((a, b) => a[0].localeCompare(b[0]));
}

function importGraph(): Map<string, string[]> {
  const files = sourceFiles(src);
  const known = new Set(files);
  return new Map(files.map((file) => [file, importsOf(file, known)]));
}

const sameCycle = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((file, i) => file === b[i]);

test('the import scanner sees the imports of a known file, type-only and multi-line ones included', () => {
  const graph = importGraph();
  const broker = graph.get(join(src, 'broker', 'broker.ts'))?.map((file) => relative(root, file)) ?? [];
  for (const expected of ['src/broker/options.ts', 'src/broker/aedes-compat.ts', 'src/broker/security-event.ts', 'src/broker/listeners.ts']) {
    assert.ok(broker.includes(expected), `${expected} in ${broker.join(', ')}`);
  }
  assert.deepEqual(cycles(new Map([['a', ['b']], ['b', ['c']], ['c', ['a']], ['d', ['d']], ['e', ['a']]])).map((c) => c.length), [3, 1]);
});

test('src/broker/ has no import cycles', () => {
  const inBroker = cycles(importGraph()).filter((cycle) => cycle.some((file) => file.startsWith('src/broker/')));
  assert.deepEqual(inBroker, []);
});

test('src/ has no import cycles beyond the known ones', (t) => {
  const found = cycles(importGraph());
  const unknown = found.filter((cycle) => !KNOWN_CYCLES.some((known) => sameCycle(known, cycle)));
  assert.deepEqual(unknown, [], 'new import cycles');
  for (const known of KNOWN_CYCLES) {
    if (!found.some((cycle) => sameCycle(known, cycle))) t.diagnostic(`gone, remove it from KNOWN_CYCLES: ${known.join(' -> ')}`);
  }
});
