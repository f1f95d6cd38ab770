// The credentials shipped in config/: every user hash and camera password is collected, and the
// demo's documented passwords still open the demo's users (so the warning names the right one).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { verifyPassword } from '../../src/broker/password.js';
import { DEMO_PASSWORDS, SAMPLE_CONFIG_FILES, credentialsOf, loadSampleCredentials, type SampleCredentials } from '../../src/cli/sample-credentials.js';
import { loadConfig } from '../../src/config.js';

test('every user hash and transport password of the shipped configs is collected, labelled with its place', () => {
  const samples = loadSampleCredentials();
  let users = 0;
  for (const file of SAMPLE_CONFIG_FILES) {
    const loaded = loadConfig({ file, env: {} });
    assert.ok(loaded.ok, file);
    loaded.config.users.forEach((user, i) => {
      users++;
      assert.equal(samples.hashes.get(user.password_hash), `${file} users[${i}] (${user.username})`);
    });
    for (const [name, transport] of Object.entries(loaded.config.transports)) {
      const password = (transport as { password?: string }).password;
      if (password) assert.equal(samples.passwords.get(password), `${file} transports.${name}.password`);
    }
  }
  assert.equal(samples.hashes.size, users);
  assert.ok(users >= 6, 'both files have users');
});

test('the demo\'s documented passwords open its users, one each', async () => {
  const demo = loadConfig({ file: 'config/demo.yaml', env: {} });
  assert.ok(demo.ok);
  for (const password of DEMO_PASSWORDS) {
    const opened = [];
    for (const user of demo.config.users) if (await verifyPassword(password, user.password_hash)) opened.push(user.username);
    assert.equal(opened.length, 1, `${password} opens ${opened.join(', ') || 'no user'}`);
  }
});

test('an installation without config/ still knows the demo\'s passwords; odd documents are skipped', () => {
  const empty = mkdtempSync(join(tmpdir(), 'gatehouse-samples-'));
  try {
    const samples = loadSampleCredentials(empty);
    assert.equal(samples.hashes.size, 0);
    assert.deepEqual([...samples.passwords.keys()], DEMO_PASSWORDS);
  } finally {
    rmSync(empty, { recursive: true, force: true });
  }
  const into: SampleCredentials = { hashes: new Map(), passwords: new Map() };
  for (const document of [null, [], 'text', { users: 'x', transports: [1], uplink: 3 }, { users: [null, { password_hash: 5 }], transports: { a: null, b: { password: '' } } }]) credentialsOf(document, 'f.yaml', into);
  assert.equal(into.hashes.size + into.passwords.size, 0);
});
