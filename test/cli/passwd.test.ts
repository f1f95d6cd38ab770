// `gatehouse passwd`: hashes a password read from stdin for the config's users.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isPasswordHash, verifyPassword } from '../../src/broker/password.js';
import { runCli } from '../support/cli-process.js';

test('passwd prints a scrypt hash of the password on stdin that verifyPassword accepts', async () => {
  const password = 'correct horse battery';
  const run = await runCli(['passwd'], { input: `${password}\n` });
  assert.equal(run.code, 0, run.stderr);
  const hash = run.stdout.trim();
  assert.match(hash, /^scrypt\$/);
  assert.equal(run.stdout.split('\n').filter(Boolean).length, 1, 'one line: the hash');
  assert.ok(isPasswordHash(hash));
  assert.equal(await verifyPassword(password, hash), true);
  assert.equal(await verifyPassword('correct horse battery!', hash), false);
});

test('passwd refuses a short password and prints no hash', async () => {
  const run = await runCli(['passwd'], { input: 'short\n' });
  assert.notEqual(run.code, 0);
  assert.equal(run.stdout, '');
  assert.match(run.stderr, /at least 8 characters/);
});
