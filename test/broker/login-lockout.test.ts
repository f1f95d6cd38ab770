// Failed-login lockout in the running broker: real MQTT.js and mosquitto_pub clients, CONNACK
// codes, security events, log lines, counters, and no password check while locked out.
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { Authenticator } from '../../src/broker/auth.js';
import { requireTool } from '../support/require-tool.js';
import { mqttClient, runTool, startBroker, waitFor } from './support.js';

const OPERATOR = { username: 'operator', password: 'op-secret' };
const VIEWER = { username: 'viewer', password: 'view-secret' };

/** Counts password checks (each one is an scrypt run) made by every Authenticator during the test. */
function countPasswordChecks(t: TestContext): { count: number } {
  const calls = { count: 0 };
  const original = Authenticator.prototype.authenticate;
  Authenticator.prototype.authenticate = function (this: Authenticator, ...args) {
    calls.count++;
    return original.apply(this, args);
  };
  t.after(() => {
    Authenticator.prototype.authenticate = original;
  });
  return calls;
}

/** The CONNACK return code MQTT.js reports for a refused login. */
async function refusedWith(t: TestContext, port: number, login: { username: string; password: string }): Promise<number | undefined> {
  const err = await mqttClient(t, port, login).then(
    () => assert.fail(`${login.username} was let in`),
    (e: Error & { code?: number }) => e,
  );
  return err.code;
}

test('after max_failures_per_address failures the address is locked out: code 5 even with the right password, no password check', async (t) => {
  const checks = countPasswordChecks(t);
  const { broker, port, events, lines } = await startBroker(t, {
    login: { maxFailuresPerAddress: 3, maxFailuresPerUsername: 0, windowMs: 600_000, lockoutMs: 600_000 },
  });
  for (let i = 0; i < 3; i++) assert.equal(await refusedWith(t, port, { ...OPERATOR, password: `guess-${i}` }), 4);
  assert.equal(checks.count, 3);

  // MQTT 3.1.1 table 3.1: 5 = not authorized.
  assert.equal(await refusedWith(t, port, OPERATOR), 5);
  assert.equal(await refusedWith(t, port, VIEWER), 5, 'the whole address is locked, whatever the username');
  const pub = await runTool(requireTool('mosquitto_pub', 'mosquitto-clients'), ['-h', '127.0.0.1', '-p', String(port), '-V', 'mqttv311', '-u', OPERATOR.username, '-P', OPERATOR.password, '-t', 'chat/x', '-m', 'hi']);
  assert.notEqual(pub.code, 0);
  assert.match(pub.stderr, /not authori[sz]ed/i);
  assert.equal(checks.count, 3, 'no password was checked during the lockout');

  const lockouts = events.filter((e) => e.type === 'lockout');
  assert.equal(lockouts.length, 1);
  assert.equal(lockouts[0].username, 'operator');
  assert.match(lockouts[0].peer, /^127\.0\.0\.1:\d+$/);
  assert.match(lockouts[0].reason, /^address 127\.0\.0\.1 locked for 600 s after 3 failed logins within 600 s$/);
  const refused = events.filter((e) => e.type === 'auth_failed' && e.reason === 'locked_out');
  assert.deepEqual(refused.map((e) => e.username), ['operator', 'viewer', 'operator']);
  assert.ok(refused.every((e) => /^127\.0\.0\.1:\d+$/.test(e.peer)));
  const started = lines.find((l) => l.msg === 'mqtt login lockout started');
  assert.ok(started, 'the lockout start is logged');
  assert.equal(started.username, 'operator');
  assert.match(String(started.peer), /^127\.0\.0\.1:/);

  const counters = broker.securityCounters();
  assert.equal(counters.loginFailures, 3);
  assert.equal(counters.lockouts, 1);
  assert.equal(counters.loginsRefusedLockedOut, 3);
  assert.equal(counters.activeLockouts, 1);
});

test('a lockout ends by itself: the end is logged and the right password works again', async (t) => {
  const { broker, port, lines } = await startBroker(t, {
    login: { maxFailuresPerAddress: 2, maxFailuresPerUsername: 0, windowMs: 600_000, lockoutMs: 300 },
  });
  await refusedWith(t, port, { ...OPERATOR, password: 'x' });
  await refusedWith(t, port, { ...OPERATOR, password: 'y' });
  const ended = await waitFor('the lockout end to be logged', () => lines.find((l) => l.msg === 'mqtt login lockout ended'));
  assert.equal(ended.scope, 'address');
  assert.equal(ended.key, '127.0.0.1');
  assert.equal(ended.username, 'operator');
  const client = await mqttClient(t, port, OPERATOR);
  assert.ok(client.connected);
  assert.equal(broker.securityCounters().activeLockouts, 0);
});

test('a username lockout refuses that username from any address and leaves other users alone', async (t) => {
  const { port, events } = await startBroker(t, {
    login: { maxFailuresPerAddress: 0, maxFailuresPerUsername: 2, windowMs: 600_000, lockoutMs: 600_000 },
  });
  await refusedWith(t, port, { ...OPERATOR, password: 'x' });
  await refusedWith(t, port, { ...OPERATOR, password: 'y' });
  assert.equal(await refusedWith(t, port, OPERATOR), 5);
  const viewer = await mqttClient(t, port, VIEWER);
  assert.ok(viewer.connected);
  const [lockout] = events.filter((e) => e.type === 'lockout');
  assert.match(lockout.reason, /^username operator locked/);
});

test('logging in with a password one knows does not clear the failures made for another username', async (t) => {
  const { port } = await startBroker(t, {
    login: { maxFailuresPerAddress: 3, maxFailuresPerUsername: 0, windowMs: 600_000, lockoutMs: 600_000 },
  });
  await refusedWith(t, port, { ...OPERATOR, password: 'x' });
  await refusedWith(t, port, { ...OPERATOR, password: 'y' });
  const viewer = await mqttClient(t, port, VIEWER); // the attacker's own account
  await viewer.endAsync();
  assert.equal(await refusedWith(t, port, { ...OPERATOR, password: 'z' }), 4);
  assert.equal(await refusedWith(t, port, VIEWER), 5, 'the third failure locked the address');
});

test('only the first refusals of a lockout are journaled; the rest are counted', async (t) => {
  const { broker, port, events, lines } = await startBroker(t, {
    login: { maxFailuresPerAddress: 1, maxFailuresPerUsername: 0, windowMs: 600_000, lockoutMs: 600_000, reportedRefusalsPerLockout: 2 },
  });
  await refusedWith(t, port, { ...OPERATOR, password: 'x' });
  for (let i = 0; i < 6; i++) assert.equal(await refusedWith(t, port, OPERATOR), 5);
  assert.equal(events.filter((e) => e.reason === 'locked_out').length, 2);
  assert.equal(broker.securityCounters().loginsRefusedLockedOut, 6);
  assert.equal(lines.filter((l) => l.msg === 'further logins refused during this lockout are counted, not journaled').length, 1);
});

test('defaults: a few wrong passwords in a row lock nothing', async (t) => {
  const { broker, port } = await startBroker(t);
  for (let i = 0; i < 3; i++) assert.equal(await refusedWith(t, port, { ...OPERATOR, password: `typo-${i}` }), 4);
  const client = await mqttClient(t, port, OPERATOR);
  assert.ok(client.connected);
  assert.equal(broker.securityCounters().lockouts, 0);
});
