// `gatehouse outbox --data-dir DIR` reads the figures straight from the database, and a damaged or
// unwritable database stops `gatehouse run` with a message that says what to do.
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { databasePath, openDatabase } from '../../src/store/database.js';
import { StoreError } from '../../src/store/store-error.js';
import { readOutboxStats, SqliteOutbox } from '../../src/store/sqlite-outbox.js';
import { runCli } from '../cli/cli-process.js';
import { configDocument } from '../gateway/harness.js';
import { runGatewayToExit, writeConfig } from './gateway-process.js';
import { msg } from './outbox-conformance.js';

const dirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-outbox-cli-'));
  dirs.push(dir);
  return dir;
}
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

function populated(): { dir: string; close(): void } {
  const dir = tempDir();
  const db = openDatabase(dir);
  const outbox = new SqliteOutbox(db, { limits: { maxMessages: 6, maxBytes: 1_000_000 } });
  const old = Date.now() - 125_000;
  outbox.append([
    msg('site/s/gate/g/state', '{"lock":"locked"}', 'retained', old),
    msg('site/s/gate/g/result', '{"id":"1"}', 'result', old + 1),
    msg('site/s/gate/g/event', '{"event":"door_forced"}', 'security', old + 2),
    ...Array.from({ length: 6 }, (_, i) => msg('site/s/app/feed', String(i), 'telemetry', old + 10 + i)),
  ]);
  return { dir, close: () => db.close() };
}

test('prints depth, bytes, oldest age, drops and per-class counts while the database is open elsewhere', async () => {
  const { dir, close } = populated();
  try {
    const text = await runCli(['outbox', '--data-dir', dir]);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /depth +6 messages/);
    assert.match(text.stdout, /oldest +\S+ \(2m \d+s ago\)/);
    assert.match(text.stdout, /by class +retained 1, result 1, security 1, telemetry 3/);
    assert.match(text.stdout, /dropped +3 \(retained 0, result 0, security 0, telemetry 3\)/);
    assert.match(text.stdout, /not yet announced by outbox_overflow: 3/);

    const json = await runCli(['outbox', '--data-dir', dir, '--json']);
    assert.equal(json.code, 0, json.stderr);
    const figures = JSON.parse(json.stdout);
    const reader = openDatabase(dir, { readonly: true });
    const expected = readOutboxStats(reader);
    reader.close();
    assert.equal(figures.depth, 6);
    assert.equal(figures.bytes, expected.bytes);
    assert.deepEqual(figures.byClass, expected.byClass);
    assert.deepEqual(figures.dropped, expected.dropped);
    assert.ok(figures.oldest_age_s >= 120 && figures.oldest_age_s < 600);
  } finally {
    close();
  }
});

test('works on a stopped gateway\'s database, and says so when there is none', async () => {
  const { dir, close } = populated();
  close();
  const run = await runCli(['outbox', '--data-dir', dir]);
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stdout, /depth +6 messages/);
  const missing = await runCli(['outbox', '--data-dir', join(dir, 'nowhere')]);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /no gatehouse database in .*nowhere/);
});

test('a damaged database file: a clear error from openDatabase, `gatehouse outbox` and `gatehouse run`', async (t) => {
  const dir = tempDir();
  writeFileSync(databasePath(dir), Buffer.from('this is not a SQLite database, it was overwritten by something else '.repeat(100)));
  assert.throws(() => openDatabase(dir), (err: unknown) => err instanceof StoreError && err.code === 'STORE_CORRUPT' && /move the file/.test(err.message));

  const outbox = await runCli(['outbox', '--data-dir', dir]);
  assert.equal(outbox.code, 1);
  assert.match(outbox.stderr, /gatehouse\.db is damaged or not a gatehouse database \(SQLITE_NOTADB/);

  const config = writeConfig(dir, await configDocument(1, dir));
  const run = await runGatewayToExit(t, config);
  assert.equal(run.code, 1);
  assert.match(run.stderr, /gatehouse\.db is damaged or not a gatehouse database .*move the file/);
});

test('an unwritable database: `gatehouse run` stops with a clear error', async (t) => {
  const dir = tempDir();
  openDatabase(dir).close();
  const config = writeConfig(dir, await configDocument(1, dir));
  // Root may write anything, so as root the gateway runs as `nobody`; otherwise the modes do it.
  const asRoot = process.getuid?.() === 0;
  chmodSync(dir, asRoot ? 0o755 : 0o555);
  chmodSync(databasePath(dir), asRoot ? 0o644 : 0o444);
  chmodSync(config, 0o644);
  t.after(() => chmodSync(dir, 0o755));
  const run = await runGatewayToExit(t, config, asRoot ? { uid: 65534, gid: 65534 } : {});
  assert.equal(run.code, 1, run.stderr);
  assert.match(run.stderr, /cannot write .*gatehouse\.db \(EACCES\) as uid \d+: gatehouse needs write access/);
});
