// PRAGMA synchronous per write: the group commit's NORMAL batches and the outbox's configured levels
// must really reach SQLite, and every other writer must find the connection's own level after them.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { openMemoryDatabase, type SqliteDatabase } from '../../src/store/database.js';
import { SqliteOutbox } from '../../src/store/sqlite-outbox.js';
import { SYNCHRONOUS, synchronousLevel, withSynchronous } from '../../src/store/synchronous.js';
import { msg } from '../uplink/outbox-conformance.js';

const LIMITS = { maxMessages: 100, maxBytes: 100_000 };

/** Records the level in force inside each transaction the connection runs. */
function levelsInTransactions(db: SqliteDatabase): number[] {
  const levels: number[] = [];
  const original = db.transaction.bind(db);
  (db as { transaction: typeof db.transaction }).transaction = ((fn: (...args: unknown[]) => unknown) =>
    original((...args: unknown[]) => {
      levels.push(synchronousLevel(db));
      return fn(...args);
    })) as typeof db.transaction;
  return levels;
}

describe('withSynchronous', () => {
  it('runs the body at the level asked for and restores the given level, also when the body throws', () => {
    const db = openMemoryDatabase();
    db.pragma('synchronous = FULL');
    assert.equal(withSynchronous(db, SYNCHRONOUS.NORMAL, SYNCHRONOUS.FULL, () => synchronousLevel(db)), 1);
    assert.equal(synchronousLevel(db), 2);
    assert.throws(() => withSynchronous(db, SYNCHRONOUS.OFF, SYNCHRONOUS.FULL, () => {
      assert.equal(synchronousLevel(db), 0);
      throw new Error('refused');
    }), /refused/);
    assert.equal(synchronousLevel(db), 2);
  });

  it('a prepared `PRAGMA synchronous` run again changes nothing, which is why the helper issues it afresh', () => {
    const db = openMemoryDatabase();
    const toNormal = db.prepare('PRAGMA synchronous = 1');
    db.pragma('synchronous = FULL');
    toNormal.run();
    assert.equal(synchronousLevel(db), 2, 'SQLite applied it while preparing, not when run');
  });
});

describe('the SQLite outbox at its configured levels', () => {
  it('appends at `synchronous`, deletes acknowledged rows at `ackSynchronous`, and restores the connection\'s level', () => {
    const db = openMemoryDatabase();
    db.pragma('synchronous = FULL');
    const outbox = new SqliteOutbox(db, { limits: LIMITS, synchronous: 'NORMAL', ackSynchronous: 'NORMAL' });
    const levels = levelsInTransactions(db);
    outbox.append([msg('a', 'one')]);
    const [row] = outbox.take(1);
    outbox.ack([row.seq]);
    assert.deepEqual(levels, [1, 1], 'the append and the acknowledgement at NORMAL');
    assert.equal(synchronousLevel(db), 2, 'FULL again for every other writer');
  });

  it('FULL by default', () => {
    const db = openMemoryDatabase();
    db.pragma('synchronous = NORMAL');
    const outbox = new SqliteOutbox(db, { limits: LIMITS });
    const levels = levelsInTransactions(db);
    outbox.append([msg('a', 'one')]);
    outbox.ack([outbox.take(1)[0].seq]);
    assert.deepEqual(levels, [2, 2]);
    assert.equal(synchronousLevel(db), 1);
  });
});
