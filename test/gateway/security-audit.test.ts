// The audit trail end to end: a gateway with pymodbus devices, real MQTT.js and mosquitto_pub
// clients producing every kind of security event (failed login, lockout, login refused during
// the lockout, publish and subscribe denials, a forbidden command), then `gatehouse journal`
// run as a child process with --type, --device and --since.
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { MemoryJournal, type JournalRecord } from '../../src/commands/journal.js';
import { openDatabase } from '../../src/store/database.js';
import { SqliteJournal } from '../../src/store/sqlite-journal.js';
import { runCli } from '../support/cli-process.js';
import { clientAs, resultFor, sendCommand, startGatewayFrom, tempDataDir, topicOf, uniqueId, watch } from '../support/gateway.js';
import { mosquittoPub } from '../support/mosquitto.js';
import { connectClient } from '../support/mqtt-client.js';
import { GATE_A, USERS, configDocument, siteDevice } from '../support/site.js';
import { tempDir } from '../support/temp.js';
import { until, within } from '../support/wait.js';

const device = siteDevice();

/** A gateway whose username lockout starts after 3 failures (addresses: after 20). */
async function startAuditedGateway(t: TestContext): Promise<{ port: number; dataDir: string }> {
  const doc = await configDocument(device.port, tempDataDir(t));
  (doc.broker as Record<string, unknown>).login = { max_failures_per_address: 20, max_failures_per_username: 3, window_ms: 600_000, lockout_ms: 600_000 };
  const gw = await startGatewayFrom(t, doc);
  return { port: gw.port, dataDir: gw.dataDir };
}

async function journalJson(dataDir: string, ...args: string[]): Promise<JournalRecord[]> {
  const run = await runCli(['journal', '--data-dir', dataDir, '--json', ...args]);
  assert.equal(run.code, 0, run.stderr);
  return run.stdout.trim() === '' ? [] : run.stdout.trim().split('\n').map((line) => JSON.parse(line) as JournalRecord);
}

test('every kind of security event is journaled with peer and username, and `gatehouse journal` filters them', async (t) => {
  const { port, dataDir } = await startAuditedGateway(t);

  // A forbidden command: the viewer may read the site but not command it.
  const viewer = await clientAs(t, port, 'viewer', 'lobby-screen');
  const results = await watch(viewer, topicOf(GATE_A, 'result'));
  const forbiddenId = uniqueId('audit-forbidden');
  await sendCommand(viewer, GATE_A, 'unlock', { id: forbiddenId });
  assert.equal((await resultFor(results, forbiddenId)).code, 'forbidden');
  // A subscribe denial.
  await assert.rejects(viewer.subscribeAsync('#'), /Subscribe error/);
  // A publish denial: $SYS belongs to the broker, even for a user whose ACL is site/hq/#.
  const spoofer = await clientAs(t, port, 'guard', 'spoofer');
  const closed = new Promise<void>((resolve) => spoofer.once('close', () => resolve()));
  spoofer.publish('$SYS/spoofed/uptime', '1', { qos: 1 });
  await within(closed, 'the $SYS publisher to be disconnected');

  // The cut-off for --since falls after every event above is journaled and before any below:
  // wait for them in the journal (read the way an operator would, while the gateway runs), then for
  // the clock to pass them, and after the cut-off for the next millisecond.
  const db = openDatabase(dataDir, { readonly: true });
  t.after(() => db.close());
  const journal = new SqliteJournal(db);
  const before = await until('the denials and the forbidden command in the journal', () => {
    const found = ['publish_denied', 'subscribe_denied', 'command'].map((type) => journal.query({ type: type as JournalRecord['type'] }).at(-1));
    return found.every((e) => e !== undefined) && found;
  });
  const lastBefore = Math.max(...before.map((e) => e!.at));
  await until('the clock past the last event', () => Date.now() > lastBefore);
  const since = new Date().toISOString();
  const cut = Date.parse(since);
  await until('the clock past the cut-off', () => Date.now() > cut);

  // Three wrong passwords for guard (mosquitto_pub), which locks the username.
  for (let i = 0; i < 3; i++) {
    const wrong = await mosquittoPub({ port, username: 'guard', password: `guess-${i}`, clientId: `guesser-${i}`, topic: 'x/y', message: 'hi', qos: 1 });
    assert.notEqual(wrong.code, 0);
    assert.match(wrong.stderr, /bad user name or password/i);
  }
  // The right password no longer helps: CONNACK 5 for mosquitto_pub and MQTT.js.
  const locked = await mosquittoPub({ port, ...USERS.guard, clientId: 'real-guard', topic: 'x/y', message: 'hi', qos: 1 });
  assert.notEqual(locked.code, 0);
  assert.match(locked.stderr, /not authori[sz]ed/i);
  await assert.rejects(connectClient({ port, ...USERS.guard, clientId: 'real-guard-js' }), /Not authorized/i);
  // The viewer is a different username from the same address: unaffected.
  const stillFine = await connectClient({ port, ...USERS.viewer });
  await stillFine.endAsync();

  // Group commit writes the journal shortly after.
  await until('the locked-out logins in the journal', () => journal.query({ type: 'auth_failed' }).filter((e) => e.message === 'locked_out').length === 2);

  // --type lockout, as text
  const lockoutText = await runCli(['journal', '--data-dir', dataDir, '--type', 'lockout']);
  assert.equal(lockoutText.code, 0, lockoutText.stderr);
  const lines = lockoutText.stdout.trim().split('\n');
  assert.equal(lines.length, 1, lockoutText.stdout);
  assert.match(lines[0], /lockout/);
  assert.match(lines[0], /guard 127\.0\.0\.1:\d+/);
  assert.match(lines[0], /username guard locked for 600 s after 3 failed logins within 600 s/);
  assert.match(lockoutText.stderr, /^1 entry$/m);

  // --type auth_failed: three bad passwords, then the two refusals during the lockout.
  const authFailed = await journalJson(dataDir, '--type', 'auth_failed');
  assert.deepEqual(authFailed.map((e) => [e.username, e.message, e.client_id]), [
    ['guard', 'bad_password', 'guesser-0'],
    ['guard', 'bad_password', 'guesser-1'],
    ['guard', 'bad_password', 'guesser-2'],
    ['guard', 'locked_out', 'real-guard'],
    ['guard', 'locked_out', 'real-guard-js'],
  ]);
  assert.ok(authFailed.every((e) => /^127\.0\.0\.1:\d+$/.test(e.peer ?? '')), 'each with its peer address');

  // --device gate-a: the forbidden command, and nothing of the logins.
  const gateA = await journalJson(dataDir, '--device', GATE_A.id);
  const forbidden = gateA.filter((e) => e.command_id === forbiddenId);
  assert.equal(forbidden.length, 1);
  assert.equal(forbidden[0].type, 'command');
  assert.equal(forbidden[0].code, 'forbidden');
  assert.equal(forbidden[0].username, 'viewer');
  assert.equal(forbidden[0].client_id, 'lobby-screen');
  assert.match(forbidden[0].peer ?? '', /^127\.0\.0\.1:\d+$/);
  assert.ok(gateA.every((e) => e.device === GATE_A.id));

  // The denials before `since`.
  const publishDenied = await journalJson(dataDir, '--type', 'publish_denied');
  assert.deepEqual(publishDenied.map((e) => [e.username, e.client_id, e.payload, e.message]), [['guard', 'spoofer', '$SYS/spoofed/uptime', 'system_topic']]);
  const subscribeDenied = await journalJson(dataDir, '--type', 'subscribe_denied');
  assert.deepEqual(subscribeDenied.map((e) => [e.username, e.client_id, e.payload, e.message]), [['viewer', 'lobby-screen', '#', 'acl']]);
  assert.ok([...publishDenied, ...subscribeDenied].every((e) => /^127\.0\.0\.1:\d+$/.test(e.peer ?? '')));

  // --since: only what happened from then on (the logins and the lockout).
  const recent = await journalJson(dataDir, '--since', since);
  assert.deepEqual([...new Set(recent.map((e) => e.type))].sort(), ['auth_failed', 'lockout']);
  assert.equal(recent.length, 6);
});

test('both journals accept and filter the lockout type', (t) => {
  const db = openDatabase(tempDir(t, 'audit-types'));
  try {
    for (const journal of [new MemoryJournal(), new SqliteJournal(db)]) {
      journal.append({ at: 1, type: 'auth_failed', username: 'guard', peer: '127.0.0.1:1', message: 'bad_password' });
      journal.append({ at: 2, type: 'lockout', username: 'guard', peer: '127.0.0.1:2', code: 'forbidden', message: 'username guard locked' });
      const [lockout] = journal.query({ type: 'lockout' });
      assert.deepEqual({ ...lockout, seq: 0 }, { seq: 0, at: 2, type: 'lockout', username: 'guard', peer: '127.0.0.1:2', code: 'forbidden', message: 'username guard locked' });
    }
  } finally {
    db.close();
  }
});
