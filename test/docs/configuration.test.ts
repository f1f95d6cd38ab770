// docs/configuration.md lists every key of the config's fixed sections with the default the code
// loads and the environment variable that overrides it; this test keeps the page and src/config.ts
// in step.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfig } from '../../src/config.js';
import { readPage } from './markdown.js';

const PAGE = 'docs/configuration.md';
/** Keys whose default is derived from other keys, as the page writes it. */
const DERIVED_DEFAULTS: Record<string, string> = { site: '(required)', 'uplink.client_id': 'gatehouse-{site}-{gateway_id}' };

type Row = { key: string; cells: string[] };

/** The rows of the page's fixed-section table: | `key` | default | format | environment | meaning |. */
function fixedRows(): Map<string, Row> {
  const markdown = readPage(PAGE);
  const start = markdown.indexOf('## Fixed sections');
  const end = markdown.indexOf('\n## ', start + 1);
  assert.ok(start >= 0, `${PAGE} has a "Fixed sections" heading`);
  const rows = new Map<string, Row>();
  for (const line of markdown.slice(start, end).split('\n')) {
    const m = /^\| `([a-z_.]+)` \|(.*)\|$/.exec(line);
    if (!m) continue;
    const cells = m[2].split(' | ').map((c) => c.trim());
    assert.ok(!rows.has(m[1]), `${PAGE}: ${m[1]} listed twice`);
    rows.set(m[1], { key: m[1], cells });
  }
  return rows;
}

/** Every leaf key of the fixed sections with its default, e.g. ['broker.tls.port', 8883]. */
function defaults(): [string, unknown][] {
  const loaded = loadConfig({ document: { site: 'x' }, env: {} });
  assert.ok(loaded.ok, loaded.ok ? '' : JSON.stringify(loaded.issues));
  const { users: _users, transports: _transports, devices: _devices, links: _links, ...fixed } = loaded.config;
  const leaves: [string, unknown][] = [];
  const walk = (value: unknown, path: string[]) => {
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
      for (const [k, v] of Object.entries(value)) walk(v, [...path, k]);
    } else {
      leaves.push([path.join('.'), value]);
    }
  };
  walk(fixed, []);
  return leaves;
}

function shownDefault(key: string, value: unknown): string {
  if (key in DERIVED_DEFAULTS) return DERIVED_DEFAULTS[key].startsWith('(') ? DERIVED_DEFAULTS[key] : `\`${DERIVED_DEFAULTS[key]}\``;
  if (Array.isArray(value)) return `\`${JSON.stringify(value)}\``;
  if (value === '') return '`""`';
  return `\`${String(value)}\``;
}

describe(`${PAGE}: the fixed sections`, () => {
  const rows = fixedRows();
  const leaves = defaults();

  it('lists every key the code loads, with its default', () => {
    assert.ok(leaves.length > 50, `only ${leaves.length} keys loaded`);
    const problems: string[] = [];
    for (const [key, value] of leaves) {
      const row = rows.get(key);
      if (!row) {
        problems.push(`${key}: not on the page (default ${JSON.stringify(value)})`);
        continue;
      }
      if (row.cells[0] !== shownDefault(key, value)) problems.push(`${key}: the page says default ${row.cells[0]}, the code loads ${shownDefault(key, value)}`);
    }
    assert.deepEqual(problems, []);
  });

  it('names the environment variable of each scalar key; lists come only from the file', () => {
    const problems: string[] = [];
    for (const [key, value] of leaves) {
      const row = rows.get(key);
      if (!row) continue;
      const expected = Array.isArray(value) ? 'file only' : `\`GATEHOUSE_${key.toUpperCase().replace(/\./g, '_')}\``;
      if (row.cells[2] !== expected) problems.push(`${key}: environment ${row.cells[2]}, expected ${expected}`);
    }
    assert.deepEqual(problems, []);
  });

  it('lists no key the code does not have', () => {
    const known = new Set(leaves.map(([key]) => key));
    const stale = [...rows.keys()].filter((key) => !known.has(key));
    assert.deepEqual(stale, []);
  });
});
