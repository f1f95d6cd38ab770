// The gateway's store: group commits at NORMAL made durable by a pooled fdatasync of the `-wal` file.
import assert from 'node:assert/strict';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { databasePath, openDatabase } from '../../src/store/database.js';
import { openGatewayStore } from '../../src/store/gateway-store.js';
import { SqliteLedger } from '../../src/store/sqlite-ledger.js';
import { synchronousLevel } from '../../src/store/synchronous.js';
import { WalSync } from '../../src/store/wal-sync.js';
import { tempDir } from '../support/temp.js';

const input = { command: 'unlock', source: 'local' };

describe('WalSync', () => {
  it('opens the -wal file of a database opened by the gateway, syncs it, and refuses once closed', async (t) => {
    const db = openDatabase(tempDir(t, 'wal'));
    t.after(() => db.close());
    const wal = WalSync.open(db);
    assert.equal(wal.path, `${databasePath(join(db.name, '..'))}-wal`);
    assert.ok(existsSync(wal.path));
    await wal.sync();
    wal.close();
    await assert.rejects(wal.sync(), (err: Error) => err.message === `${wal.path}: closed`);
    wal.close();
  });

  it('names the file when the database has no -wal file (not in WAL mode)', (t) => {
    const dir = tempDir(t, 'wal');
    const db = new Database(join(dir, 'rollback.db'));
    t.after(() => db.close());
    db.exec('CREATE TABLE t (x)');
    assert.throws(() => WalSync.open(db), (err: NodeJS.ErrnoException) => err.code === 'ENOENT' && String(err.message).includes(join(dir, 'rollback.db-wal')));
  });

  it('the -wal file stays the same file through checkpoints and restarts of the WAL, which the sync relies on', async (t) => {
    const store = openGatewayStore(tempDir(t, 'wal'));
    const walPath = `${store.db.name}-wal`;
    const inode = statSync(walPath).ino;
    const big = 'x'.repeat(4000);
    // Past SQLite's auto-checkpoint (1000 pages), then an explicit one that truncates the file.
    for (let batch = 0; batch < 30; batch++) {
      await Promise.all(Array.from({ length: 50 }, (_, i) => store.commits.run(() => store.ledger.claim('gate/g1', `${batch}-${i}-${big}`, 1, input))));
    }
    store.db.pragma('wal_checkpoint(TRUNCATE)');
    await store.commits.run(() => store.ledger.claim('gate/g1', 'after', 1, input));
    assert.equal(statSync(walPath).ino, inode);
    await store.close();
  });
});

describe('the gateway store', () => {
  it('counts sessions, commits through the pooled sync, keeps FULL for other writers, and closes with everything on disk', async (t) => {
    const dir = tempDir(t, 'store');
    const first = openGatewayStore(dir);
    assert.equal(first.session, 1);
    assert.equal(await first.commits.run(() => first.ledger.claim('gate/g1', 'a', 1, input)), undefined);
    assert.equal(synchronousLevel(first.db), 2, 'FULL outside the group commit');
    void first.commits.run(() => first.ledger.claim('gate/g1', 'queued', 2, input));
    await first.close();
    const second = openGatewayStore(dir);
    assert.equal(second.session, 2, 'the next start is the next session');
    await second.close();
    const reader = openDatabase(dir, { readonly: true });
    t.after(() => reader.close());
    const ledger = new SqliteLedger(reader);
    assert.ok(ledger.get('gate/g1', 'a'));
    assert.ok(ledger.get('gate/g1', 'queued'), 'a write still queued at close was committed by it');
  });
});
