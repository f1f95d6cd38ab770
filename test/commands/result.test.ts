// The result's stable vocabulary is a contract with integrators: the codes and sources in the code
// are exactly the ones docs/topics.md documents, in the same order.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { COMMAND_SOURCES, CommandRejection, RESULT_CODES } from '../../src/commands/result.js';
import { PACKAGE_ROOT } from '../support/cli-process.js';

const topicsPage = readFileSync(join(PACKAGE_ROOT, 'docs', 'topics.md'), 'utf8');

test('every result code, and only those, is in the table of docs/topics.md', () => {
  const start = topicsPage.indexOf('| code | meaning |', topicsPage.indexOf('Error codes are stable'));
  const table = topicsPage.slice(start, topicsPage.indexOf('\n\n', start));
  const documented = [...table.matchAll(/^\| `([a-z_]+)` \|/gm)].map((m) => m[1]);
  assert.deepEqual([...RESULT_CODES], documented);
});

test('every command source, and only those, is named where docs/topics.md explains `source`', () => {
  const sentence = topicsPage.slice(topicsPage.indexOf('`source` is '), topicsPage.indexOf('`timing.started_at`'));
  const documented = [...sentence.matchAll(/`([a-z]+)`\s+\(/g)].map((m) => m[1]);
  assert.deepEqual([...COMMAND_SOURCES], documented);
});

test('a rejection carries its code, message and data, and says what it is', () => {
  const plain = new CommandRejection('busy', 'three wait already');
  assert.equal(plain.code, 'busy');
  assert.equal(plain.message, 'three wait already');
  assert.equal(plain.data, undefined);
  assert.equal(plain.name, 'CommandRejection');
  assert.ok(plain instanceof Error);
  const detailed = new CommandRejection('bad_request', 'config refused', { errors: ['x'] });
  assert.deepEqual(detailed.data, { errors: ['x'] });
});
