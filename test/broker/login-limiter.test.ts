// The failed-login limiter as pure logic, on a clock the test moves by hand.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LoginLimiter, addressKey, addressOf, usernameKey, type LoginLimiterOptions } from '../../src/broker/login-limiter.js';

const MINUTE = 60_000;

function limiter(opts: Partial<LoginLimiterOptions> = {}) {
  const clock = { now: 1_000_000 };
  const l = new LoginLimiter(
    {
      maxFailuresPerAddress: 5,
      maxFailuresPerUsername: 3,
      windowMs: 10 * MINUTE,
      lockoutMs: 15 * MINUTE,
      maxTracked: 1000,
      reportedRefusalsPerLockout: 2,
      ...opts,
    },
    () => clock.now,
  );
  return { l, clock };
}

test('an address is locked after maxFailuresPerAddress failures, for every username, and no other address is', () => {
  const { l } = limiter({ maxFailuresPerUsername: 0 });
  for (let i = 0; i < 4; i++) assert.deepEqual(l.recordFailure('10.0.0.1', `user${i}`).started, []);
  assert.deepEqual(l.admit('10.0.0.1', 'anyone'), { allowed: true });
  const { started } = l.recordFailure('10.0.0.1', 'user4');
  assert.equal(started.length, 1);
  assert.equal(started[0].scope, 'address');
  assert.equal(started[0].key, '10.0.0.1');
  assert.equal(started[0].failures, 5);
  assert.equal(started[0].until - started[0].since, 15 * MINUTE);
  for (const user of ['anyone', 'user0', undefined]) assert.equal(l.admit('10.0.0.1', user).allowed, false, String(user));
  assert.deepEqual(l.admit('10.0.0.2', 'anyone'), { allowed: true });
});

test('a username is locked after maxFailuresPerUsername failures from any addresses, and other usernames are not', () => {
  const { l } = limiter();
  l.recordFailure('10.0.0.1', 'guard');
  l.recordFailure('10.0.0.2', 'guard');
  const { started } = l.recordFailure('10.0.0.3', 'guard');
  assert.deepEqual(started.map((s) => [s.scope, s.key]), [['username', 'guard']]);
  const refused = l.admit('10.0.0.9', 'guard');
  assert.equal(refused.allowed, false);
  assert.equal(!refused.allowed && refused.lockout.scope, 'username');
  assert.deepEqual(l.admit('10.0.0.1', 'viewer'), { allowed: true });
});

test('failures older than the window no longer count (sliding window)', () => {
  const { l, clock } = limiter();
  l.recordFailure('10.0.0.1', 'guard');
  l.recordFailure('10.0.0.1', 'guard');
  clock.now += 10 * MINUTE + 1;
  assert.deepEqual(l.recordFailure('10.0.0.1', 'guard').started, [], 'the first two have left the window');
  clock.now += 5 * MINUTE;
  l.recordFailure('10.0.0.1', 'guard');
  assert.equal(l.recordFailure('10.0.0.1', 'guard').started.length, 1, 'three within ten minutes');
});

test('a lockout ends after lockoutMs, is reported once by expire(), and counting starts afresh', () => {
  const { l, clock } = limiter();
  for (let i = 0; i < 3; i++) l.recordFailure('10.0.0.1', 'guard');
  const started = clock.now;
  assert.equal(l.nextExpiry(), started + 15 * MINUTE);
  clock.now = started + 15 * MINUTE - 1;
  assert.deepEqual(l.expire(), []);
  assert.equal(l.admit('10.0.0.1', 'guard').allowed, false);
  clock.now = started + 15 * MINUTE;
  assert.equal(l.admit('10.0.0.1', 'guard').allowed, true, 'an ended lockout refuses nothing even before expire()');
  const ended = l.expire();
  assert.deepEqual(ended.map((e) => [e.scope, e.key, e.refused]), [['username', 'guard', 1]]);
  assert.deepEqual(l.expire(), []);
  assert.equal(l.nextExpiry(), undefined);
  assert.deepEqual(l.recordFailure('10.0.0.1', 'guard').started, [], 'failures before the lockout are gone');
});

test('refused attempts neither count as failures nor extend the lockout; the first few are marked for reporting', () => {
  const { l, clock } = limiter({ maxFailuresPerUsername: 0 });
  for (let i = 0; i < 5; i++) l.recordFailure('10.0.0.1', 'guard');
  const until = l.nextExpiry();
  const reports: boolean[] = [];
  for (let i = 0; i < 5; i++) {
    const a = l.admit('10.0.0.1', 'guard');
    assert.equal(a.allowed, false);
    if (!a.allowed) reports.push(a.report);
    clock.now += MINUTE;
  }
  assert.deepEqual(reports, [true, true, false, false, false]);
  assert.equal(l.nextExpiry(), until);
});

test('a success forgives only the failures of the same address for the same username', () => {
  // The attacker at 10.0.0.66 owns the account mallory and guesses guard's password.
  const { l } = limiter({ maxFailuresPerAddress: 4, maxFailuresPerUsername: 4 });
  for (let i = 0; i < 3; i++) l.recordFailure('10.0.0.66', 'guard');
  l.recordSuccess('10.0.0.66', 'mallory');
  const started = l.recordFailure('10.0.0.66', 'guard').started;
  assert.deepEqual(started.map((s) => s.scope).sort(), ['address', 'username'], 'knowing mallory’s password cleared nothing');

  // The real guard mistypes twice, then gets it right: those two are forgiven.
  const fresh = limiter({ maxFailuresPerAddress: 3, maxFailuresPerUsername: 3 }).l;
  fresh.recordFailure('10.0.0.5', 'guard');
  fresh.recordFailure('10.0.0.5', 'guard');
  fresh.recordSuccess('10.0.0.5', 'guard');
  assert.deepEqual(fresh.recordFailure('10.0.0.5', 'guard').started, []);
  assert.deepEqual(fresh.recordFailure('10.0.0.5', 'guard').started, []);

  // Failures for guard from another address survive guard's success here.
  const other = limiter({ maxFailuresPerAddress: 10, maxFailuresPerUsername: 3 }).l;
  other.recordFailure('10.0.0.66', 'guard');
  other.recordFailure('10.0.0.66', 'guard');
  other.recordSuccess('10.0.0.5', 'guard');
  assert.equal(other.recordFailure('10.0.0.66', 'guard').started.length, 1);
});

test('a success does not lift an active lockout', () => {
  const { l } = limiter();
  for (let i = 0; i < 3; i++) l.recordFailure('10.0.0.1', 'guard');
  l.recordSuccess('10.0.0.1', 'guard');
  assert.equal(l.admit('10.0.0.1', 'guard').allowed, false);
});

test('0 turns a scope off; an anonymous attempt counts for its address only', () => {
  const { l } = limiter({ maxFailuresPerAddress: 0, maxFailuresPerUsername: 0 });
  for (let i = 0; i < 50; i++) assert.deepEqual(l.recordFailure('10.0.0.1', 'guard').started, []);
  assert.deepEqual(l.trackedEntries(), { addresses: 0, usernames: 0, lockouts: 0 });

  const anon = limiter({ maxFailuresPerAddress: 2 }).l;
  anon.recordFailure('10.0.0.1', undefined);
  assert.deepEqual(anon.recordFailure('10.0.0.1', undefined).started.map((s) => s.scope), ['address']);
  assert.equal(anon.trackedEntries().usernames, 0);
  assert.equal(anon.admit('10.0.0.1', undefined).allowed, false);
});

test('memory stays bounded under failures from many addresses and usernames', () => {
  const { l } = limiter({ maxTracked: 100, maxFailuresPerAddress: 3, maxFailuresPerUsername: 3 });
  for (let i = 0; i < 20_000; i++) l.recordFailure(`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, `user-${i}`);
  const tracked = l.trackedEntries();
  assert.ok(tracked.addresses <= 100 && tracked.usernames <= 100, JSON.stringify(tracked));
  // Lockouts are bounded too; the ones forgotten are reported as evicted.
  const evicted: string[] = [];
  for (let i = 0; i < 300; i++) {
    for (let k = 0; k < 3; k++) evicted.push(...l.recordFailure(`172.16.${i >> 8}.${i & 255}`, undefined).evicted.map((e) => e.key));
  }
  assert.equal(l.trackedEntries().lockouts, 100);
  assert.equal(evicted.length, 200);
  assert.equal(evicted[0], '172.16.0.0', 'the lockout that ends first is forgotten first');
});

test('the least recently failed entry is forgotten first', () => {
  const { l } = limiter({ maxTracked: 2, maxFailuresPerAddress: 2, maxFailuresPerUsername: 0 });
  l.recordFailure('10.0.0.1', 'a');
  l.recordFailure('10.0.0.2', 'a');
  l.recordFailure('10.0.0.3', 'a'); // forgets 10.0.0.1
  assert.deepEqual(l.recordFailure('10.0.0.1', 'a').started, [], '10.0.0.1 starts again from one');
  assert.equal(l.recordFailure('10.0.0.3', 'a').started.length, 1, '10.0.0.3 was kept');
});

test('long usernames are tracked by digest, so a key never holds 64 KiB of attacker text', () => {
  const long = 'x'.repeat(65_000);
  assert.match(usernameKey(long), /^sha256:[0-9a-f]{64}$/);
  assert.equal(usernameKey('guard'), 'guard');
  const { l } = limiter();
  for (let i = 0; i < 3; i++) l.recordFailure(`10.0.0.${i}`, long);
  const a = l.admit('10.0.0.9', long);
  assert.equal(a.allowed, false);
  assert.ok(!a.allowed && a.lockout.key.length < 100);
  assert.equal(l.admit('10.0.0.9', `${long}y`).allowed, true);
});

test('addressOf strips the port; addressKey groups IPv6 by /64 and unwraps IPv4-mapped addresses', () => {
  assert.equal(addressOf('127.0.0.1:50123'), '127.0.0.1');
  assert.equal(addressOf('[::1]:50123'), '::1');
  assert.equal(addressOf('[::ffff:192.0.2.7]:1883'), '192.0.2.7');
  assert.equal(addressOf('unknown'), 'unknown');
  assert.equal(addressKey('192.0.2.7'), '192.0.2.7');
  assert.equal(addressKey('2001:db8:1:2::5'), '2001:db8:1:2::/64');
  assert.equal(addressKey('2001:0db8:0001:0002:ffff:0:0:1'), '2001:db8:1:2::/64');
  assert.notEqual(addressKey('2001:db8:1:3::1'), addressKey('2001:db8:1:2::1'));
  assert.equal(addressKey('::1'), '0:0:0:0::/64');
  assert.equal(addressKey('fe80::1%eth0'), 'fe80:0:0:0::/64');
  // Two addresses of one /64 share a counter.
  const { l } = limiter({ maxFailuresPerAddress: 2, maxFailuresPerUsername: 0 });
  l.recordFailure('2001:db8:1:2::a', 'x');
  assert.equal(l.recordFailure('2001:db8:1:2::b', 'x').started.length, 1);
  assert.equal(l.admit('2001:db8:1:2::c', 'y').allowed, false);
  assert.equal(l.admit('2001:db8:1:3::c', 'y').allowed, true);
});
