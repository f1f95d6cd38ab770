// The audit journal end to end (DESIGN.md section 1): every command with its source, client,
// user, payload, result code and latency, and security decisions, in SQLite; readable through
// SqliteJournal and through `gatehouse journal`; duplicates dated when they arrived; bounded by
// journal.max_rows and journal.retention_days. Device events: test/gateway/event-journal.test.ts.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { JournalRecord } from '../../src/commands/journal.js';
import { openDatabase } from '../../src/store/database.js';
import { SqliteJournal } from '../../src/store/sqlite-journal.js';
import { runCli } from '../support/cli-process.js';
import { clientAs, commandTopic, resultFor, resultsFor, sendCommand, startGateway, startGatewayFrom, startSession, tempDataDir, topicOf, uniqueId, watch } from '../support/gateway.js';
import { mosquittoPub } from '../support/mosquitto.js';
import { connectClient } from '../support/mqtt-client.js';
import { GATE_A, TURNSTILE, USERS, configDocument, loadHarnessConfig, siteDevice } from '../support/site.js';
import { until } from '../support/wait.js';

const device = siteDevice();

test('commands and security decisions are journaled, and `gatehouse journal --json` prints them', async (t) => {
  const gw = await startGateway(t, device);
  const clientId = 'journal-guard-desk';
  const guard = await clientAs(t, gw.port, 'guard', clientId);
  const results = await watch(guard, topicOf(GATE_A, 'result'));
  const okId = uniqueId('journal-ok');
  const badId = uniqueId('journal-bad');
  const forbiddenId = uniqueId('journal-forbidden');
  const toolId = uniqueId('journal-tool');

  await sendCommand(guard, GATE_A, 'unlock', { id: okId, duration_ms: 150 });
  await sendCommand(guard, GATE_A, 'unlock', { id: badId, duration_ms: 5 });
  const viewer = await clientAs(t, gw.port, 'viewer', 'journal-lobby-screen');
  await sendCommand(viewer, GATE_A, 'lock', { id: forbiddenId });
  const pub = await mosquittoPub({ port: gw.port, ...USERS.guard, clientId: 'journal-cli-tool', topic: commandTopic(GATE_A, 'lock'), message: JSON.stringify({ id: toolId }), qos: 1 });
  assert.equal(pub.code, 0, pub.stderr);
  for (const id of [okId, badId, forbiddenId, toolId]) await resultFor(results, id);
  await assert.rejects(connectClient({ port: gw.port, username: 'guard', password: 'wrong-password' }));

  // Read while the gateway runs (WAL lets a reader in), the way an operator would.
  const db = openDatabase(gw.dataDir, { readonly: true });
  t.after(() => db.close());
  const entries = new SqliteJournal(db).query({ since: Date.now() - 600_000 });
  const byId = (id: string) => entries.filter((e) => e.command_id === id);

  const [ok] = byId(okId);
  assert.equal(byId(okId).length, 1);
  assert.equal(ok.type, 'command');
  assert.equal(ok.source, 'local');
  assert.equal(ok.client_id, clientId);
  assert.equal(ok.username, 'guard');
  assert.match(ok.peer ?? '', /^127\.0\.0\.1:\d+$/);
  assert.deepEqual(JSON.parse(ok.payload ?? ''), { id: okId, duration_ms: 150 });
  assert.equal(ok.status, 'ok');
  assert.equal(ok.code, undefined);
  assert.equal(ok.kind, 'gate');
  assert.equal(ok.device, GATE_A.id);
  assert.equal(ok.command, 'unlock');
  assert.equal(typeof ok.latency_ms, 'number');
  assert.ok((ok.latency_ms as number) >= 0);

  const [bad] = byId(badId);
  assert.equal(bad.code, 'bad_request');
  assert.match(bad.message ?? '', /duration_ms/);
  const [forbidden] = byId(forbiddenId);
  assert.equal(forbidden.code, 'forbidden');
  assert.equal(forbidden.username, 'viewer');
  assert.equal(forbidden.client_id, 'journal-lobby-screen');
  const [tool] = byId(toolId);
  assert.equal(tool.client_id, 'journal-cli-tool');
  assert.equal(tool.status, 'ok');

  const authFailed = entries.filter((e) => e.type === 'auth_failed');
  assert.ok(authFailed.some((e) => e.username === 'guard'), 'the refused login is journaled');

  const cli = await runCli(['journal', '--data-dir', gw.dataDir, '--since', '10m', '--json']);
  assert.equal(cli.code, 0, cli.stderr);
  const printed = cli.stdout.trim().split('\n').map((line) => JSON.parse(line) as JournalRecord);
  for (const id of [okId, badId, forbiddenId, toolId]) {
    const mine = printed.filter((r) => r.command_id === id);
    assert.equal(mine.length, 1, `${id} printed once`);
    const [fromDb] = byId(id);
    assert.deepEqual(mine[0], fromDb, 'the CLI prints the stored entry unchanged');
  }
  const seqs = printed.map((r) => r.seq);
  assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b), 'oldest first');
});

test('`gatehouse journal` refuses a bad --since and a data dir without a database', async (t) => {
  const gw = await startGateway(t, device);
  const badSince = await runCli(['journal', '--data-dir', gw.dataDir, '--since', 'last tuesday']);
  assert.equal(badSince.code, 2);
  assert.match(badSince.stderr, /--since/);
  const empty = await runCli(['journal', '--data-dir', `${gw.dataDir}/nothing-here`]);
  assert.equal(empty.code, 2);
  assert.match(empty.stderr, /no gatehouse database/);
});

test('a repeated id is journaled when it really arrived, marked duplicate, with its own sender', async (t) => {
  const { gw, client: guard, results } = await startSession(t, device, GATE_A, { clientId: 'journal-first-sender' });
  const id = uniqueId('journal-dup');
  await sendCommand(guard, GATE_A, 'lock', { id });
  const first = await resultFor(results, id);

  const resentAt = Date.now();
  const pub = await mosquittoPub({ port: gw.port, ...USERS.guard, clientId: 'journal-late-sender', topic: commandTopic(GATE_A, 'lock'), message: JSON.stringify({ id }), qos: 1 });
  assert.equal(pub.code, 0, pub.stderr);
  const [, again] = await resultsFor(results, id, 2);
  assert.equal(again.duplicate, true);
  assert.deepEqual(again.timing, first.timing, 'the result sent again is the first one');

  const db = openDatabase(gw.dataDir, { readonly: true });
  t.after(() => db.close());
  const entries = await until('both entries in the journal', () => {
    const found = new SqliteJournal(db).query({ device: GATE_A.id }).filter((e) => e.command_id === id);
    return found.length === 2 && found;
  });
  const [original, copy] = entries;
  assert.equal(original.at, first.timing.finished_at);
  assert.equal(original.client_id, 'journal-first-sender');
  assert.equal(copy.duplicate, true);
  assert.ok(copy.at >= resentAt, `the copy is dated when it arrived (${copy.at}), not when the first was answered (${original.at})`);
  assert.equal(copy.client_id, 'journal-late-sender');
});

test('the journal is bounded: a start prunes by rows (journal.max_rows) and by age (retention_days) while commands are answered', async (t) => {
  const dataDir = tempDataDir(t);
  const now = Date.now();
  {
    // An old, big journal: 20 entries of last year, 30,000 of the last day.
    const db = openDatabase(dataDir);
    const journal = new SqliteJournal(db);
    db.transaction(() => {
      for (let i = 0; i < 20; i++) journal.append({ at: now - 365 * 86_400_000 + i, type: 'event', kind: 'gate', device: GATE_A.id, event: 'door_forced' });
      for (let i = 0; i < 30_000; i++) journal.append({ at: now - 86_400_000 + i, type: 'event', kind: 'turnstile', device: TURNSTILE.id, event: 'passage', payload: `{"direction":"in","count":1,"total":${i}}` });
    })();
    db.close();
  }
  const document = await configDocument(device.port, dataDir);
  document.journal = { retention_days: 30, max_rows: 1000 };
  const gw = await startGatewayFrom(t, document);
  const guard = await clientAs(t, gw.port, 'guard');
  const results = await watch(guard, topicOf(GATE_A, 'result'));
  const id = uniqueId('journal-bounded');
  await sendCommand(guard, GATE_A, 'lock', { id });
  assert.equal((await resultFor(results, id)).status, 'ok');

  const reader = openDatabase(dataDir, { readonly: true });
  t.after(() => reader.close());
  const journal = new SqliteJournal(reader);
  // The prune removes the oldest first, so the old passages are down to max_rows only once it is done.
  await until('the journal pruned to max_rows, the command journaled', () => journal.query({ event: 'passage' }).length <= 1000 && journal.query({ device: GATE_A.id }).some((e) => e.command_id === id));
  const kept = journal.query({});
  // Entries written after the prune (the command's, if it came last) wait for the next one.
  assert.ok(kept.length <= 1001, `${kept.length} entries kept`);
  assert.ok(kept.length >= 1000, `the newest entries stay (${kept.length})`);
  assert.ok(kept.every((e) => e.at >= now - 30 * 86_400_000), 'nothing older than retention_days');
  assert.equal(journal.query({ event: 'door_forced' }).length, 0);
  const totals = kept.filter((e) => e.event === 'passage').map((e) => JSON.parse(e.payload ?? '').total as number);
  assert.deepEqual(totals, Array.from({ length: totals.length }, (_, i) => 30_000 - totals.length + i), 'the newest passages stay, the oldest went');
});

test('a reload that lowers journal.max_rows prunes with the new bound at once, not at the next hourly run', async (t) => {
  const dataDir = tempDataDir(t);
  const now = Date.now();
  {
    const db = openDatabase(dataDir);
    const journal = new SqliteJournal(db);
    db.transaction(() => {
      for (let i = 0; i < 3000; i++) journal.append({ at: now - 3_600_000 + i, type: 'event', kind: 'gate', device: GATE_A.id, event: 'door_opened' });
    })();
    db.close();
  }
  const document = await configDocument(device.port, dataDir);
  document.journal = { retention_days: 30, max_rows: 1_000_000 };
  const gw = await startGatewayFrom(t, document);
  const reader = openDatabase(dataDir, { readonly: true });
  t.after(() => reader.close());
  const rows = () => reader.prepare('SELECT count(*) FROM journal').pluck().get() as number;
  assert.ok(rows() >= 3000, 'the start kept them: under the first bound');
  await gw.gateway.reload(loadHarnessConfig({ ...document, journal: { retention_days: 30, max_rows: 500 } }));
  await until('the journal pruned to the reloaded max_rows', () => rows() <= 500);
});
