import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { databasePath, openDatabase, PAGE_CACHE_KIB } from '../../src/store/database.js';
import { nextSession } from '../../src/store/gateway-meta.js';
import { SCHEMA_VERSION } from '../../src/store/migrations.js';
import { SqliteLedger } from '../../src/store/sqlite-ledger.js';

const dirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-store-'));
  dirs.push(dir);
  return dir;
}
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

describe('the gateway database', () => {
  it('opens in WAL mode with synchronous=FULL and the current schema', () => {
    const db = openDatabase(join(tempDir(), 'nested', 'dir'));
    assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
    assert.equal(db.pragma('synchronous', { simple: true }), 2, 'FULL');
    assert.equal(db.pragma('user_version', { simple: true }), SCHEMA_VERSION);
    db.close();
  });

  it("bounds SQLite's page cache below better-sqlite3's 16 MiB default, read-write and read-only", () => {
    const dir = tempDir();
    const raw = new Database(':memory:');
    const builtIn = raw.pragma('cache_size', { simple: true }) as number;
    raw.close();
    assert.ok(-PAGE_CACHE_KIB > builtIn, `${PAGE_CACHE_KIB} KiB is less than the built-in ${-builtIn} KiB`);
    for (const db of [openDatabase(dir), openDatabase(dir, { readonly: true })]) {
      assert.equal(db.pragma('cache_size', { simple: true }), -PAGE_CACHE_KIB);
      db.close();
    }
  });

  it('keeps claimed command ids across a reopen', () => {
    const dir = tempDir();
    const first = openDatabase(dir);
    new SqliteLedger(first).claim('gate/g1', 'abc', 1000, { command: 'unlock', source: 'local' });
    first.close();
    const second = openDatabase(dir);
    assert.equal(new SqliteLedger(second).get('gate/g1', 'abc')?.input.command, 'unlock');
    second.close();
  });

  it('counts sessions across reopens', () => {
    const dir = tempDir();
    const a = openDatabase(dir);
    assert.equal(nextSession(a), 1);
    assert.equal(nextSession(a), 2);
    a.close();
    const b = openDatabase(dir);
    assert.equal(nextSession(b), 3);
    b.close();
  });

  it('refuses a database written by a newer gatehouse', () => {
    const dir = tempDir();
    openDatabase(dir).close();
    const raw = new Database(databasePath(dir));
    raw.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    raw.close();
    assert.throws(() => openDatabase(dir), /newer than this gatehouse/);
  });

  it('opens read-only for the CLI without creating anything', () => {
    const dir = tempDir();
    assert.throws(() => openDatabase(dir, { readonly: true }), (err: Error) => err.message.startsWith(`cannot open ${databasePath(dir)}`));
    assert.deepEqual(readdirSync(dir), [], 'no database file, no journal, nothing');
    openDatabase(dir).close();
    const ro = openDatabase(dir, { readonly: true });
    assert.throws(() => ro.exec("INSERT INTO gateway_meta (key, value) VALUES ('x', 'y')"), /readonly/);
    ro.close();
  });
});
