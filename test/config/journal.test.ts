// The journal section of the config: retention by age (retention_days) and by rows (max_rows),
// defaults, file values, GATEHOUSE_JOURNAL_* overrides, and a clear error naming the key.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadConfig, type GatehouseConfig } from '../../src/config.js';
import { demo, expectIssue, issuesOf } from './support.js';

function load(document: unknown, env: NodeJS.ProcessEnv = {}): Readonly<GatehouseConfig> {
  const result = loadConfig({ document, env });
  assert.ok(result.ok, result.ok ? '' : JSON.stringify(result.issues, null, 2));
  return result.config;
}

test('without a journal section: 90 days and at most 1,000,000 entries', () => {
  const doc = demo();
  delete doc.journal;
  assert.deepEqual(load(doc).journal, { retention_days: 90, max_rows: 1_000_000 });
});

test('journal.max_rows from the file and from GATEHOUSE_JOURNAL_MAX_ROWS', () => {
  const doc = demo();
  doc.journal = { retention_days: 30, max_rows: 50_000 };
  assert.deepEqual(load(doc).journal, { retention_days: 30, max_rows: 50_000 });
  assert.equal(load(doc, { GATEHOUSE_JOURNAL_MAX_ROWS: '2000' }).journal.max_rows, 2000);
});

test('a max_rows that is not a positive integer is an error naming journal.max_rows', () => {
  for (const bad of [0, -5, 1.5, 'lots']) {
    const doc = demo();
    doc.journal = { max_rows: bad };
    expectIssue(issuesOf(doc), 'journal.max_rows', /must be a positive integer/);
  }
  expectIssue(issuesOf(demo(), { GATEHOUSE_JOURNAL_MAX_ROWS: 'many' }), 'journal.max_rows', /must be a positive integer/);
});
