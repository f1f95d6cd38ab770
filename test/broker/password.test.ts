import assert from 'node:assert/strict';
import { test } from 'node:test';
import { hashPassword, isPasswordHash, verifyPassword } from '../../src/broker/password.js';

test('hashPassword produces scrypt$N$r$p$salt$hash with a random 16-byte salt and a 32-byte key', async () => {
  const a = await hashPassword('correct horse');
  const b = await hashPassword('correct horse');
  const parts = a.split('$');
  assert.equal(parts.length, 6);
  assert.deepEqual(parts.slice(0, 4), ['scrypt', '16384', '8', '1']);
  assert.equal(Buffer.from(parts[4], 'base64').length, 16);
  assert.equal(Buffer.from(parts[5], 'base64').length, 32);
  assert.notEqual(a, b, 'two hashes of one password differ by their salt');
  assert.ok(isPasswordHash(a));
});

test('verifyPassword accepts the right password and refuses a wrong one', async () => {
  const encoded = await hashPassword('s3cret-ünïcode');
  assert.equal(await verifyPassword('s3cret-ünïcode', encoded), true);
  assert.equal(await verifyPassword('s3cret-unicode', encoded), false);
  assert.equal(await verifyPassword('', encoded), false);
});

test('verifyPassword returns false, never throws, for malformed or hostile hashes', async () => {
  const good = await hashPassword('pw');
  const [, , , , salt, hash] = good.split('$');
  const malformed = [
    '',
    'plain-text-password',
    'scrypt$16384$8$1$' + salt,
    `bcrypt$16384$8$1$${salt}$${hash}`,
    `scrypt$16383$8$1$${salt}$${hash}`, // N not a power of two
    `scrypt$1$8$1$${salt}$${hash}`, // N too small
    `scrypt$1073741824$8$1$${salt}$${hash}`, // N = 2^30: gigabytes of memory
    `scrypt$16384$1024$1$${salt}$${hash}`, // r far too large
    `scrypt$16384$8$1000$${salt}$${hash}`, // p far too large
    `scrypt$16384$8$0$${salt}$${hash}`,
    `scrypt$016384$8$1$${salt}$${hash}`,
    `scrypt$16384$8$1$not*base64$${hash}`,
    `scrypt$16384$8$1$${salt}$`,
    `scrypt$16384$8$1$${salt}$AAAA`, // 3-byte key
    `scrypt$16384$8$1$${salt}$${hash}$extra`,
  ];
  for (const encoded of malformed) {
    assert.equal(isPasswordHash(encoded), false, `isPasswordHash(${encoded})`);
    assert.equal(await verifyPassword('pw', encoded), false, `verifyPassword(pw, ${encoded})`);
  }
  // Wrong types from an untyped config must not throw either.
  assert.equal(await verifyPassword('pw', undefined as unknown as string), false);
  assert.equal(await verifyPassword(undefined as unknown as string, good), false);
  assert.equal(isPasswordHash(42 as unknown as string), false);
});

test('isPasswordHash accepts other in-bound costs, and verifyPassword honours them', async () => {
  const { scryptSync, randomBytes } = await import('node:crypto');
  const salt = randomBytes(16);
  const key = scryptSync('pw', salt, 32, { N: 1024, r: 4, p: 2 });
  const encoded = `scrypt$1024$4$2$${salt.toString('base64')}$${key.toString('base64')}`;
  assert.equal(isPasswordHash(encoded), true);
  assert.equal(await verifyPassword('pw', encoded), true);
  assert.equal(await verifyPassword('px', encoded), false);
});
