import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { openMemoryDatabase } from '../../src/store/database.js';
import { GroupCommit } from '../../src/store/group-commit.js';
import { SqliteLedger } from '../../src/store/sqlite-ledger.js';

describe('group commit', () => {
  it('runs the writes of one turn in one transaction, in order, and resolves with their values', async () => {
    const db = openMemoryDatabase();
    let transactions = 0;
    const original = db.transaction.bind(db);
    // Counted on every transaction function, including those GroupCommit builds once when constructed.
    (db as { transaction: typeof db.transaction }).transaction = ((fn: (...args: unknown[]) => unknown) => {
      const wrapped = original(fn);
      return ((...args: unknown[]) => {
        if (!db.inTransaction) transactions++;
        return wrapped(...args);
      }) as never;
    }) as typeof db.transaction;
    const commits = new GroupCommit(db);
    const ledger = new SqliteLedger(db);
    const input = { command: 'unlock', source: 'local' };
    const [first, second, other] = await Promise.all([
      commits.run(() => ledger.claim('gate/g1', 'same', 1, input)),
      commits.run(() => ledger.claim('gate/g1', 'same', 2, input)),
      commits.run(() => ledger.claim('gate/g1', 'other', 3, input)),
    ]);
    assert.equal(first, undefined, 'the first claim of an id is new');
    assert.equal(second?.createdAt, 1, 'the second claim in the same batch sees the first');
    assert.equal(other, undefined);
    assert.equal(transactions, 1, 'one outer transaction (one fsync) for the whole turn');
  });

  it('a failing write is rolled back alone and rejects alone', async () => {
    const db = openMemoryDatabase();
    const commits = new GroupCommit(db);
    const ledger = new SqliteLedger(db);
    const input = { command: 'unlock', source: 'local' };
    const results = await Promise.allSettled([
      commits.run(() => ledger.claim('gate/g1', 'a', 1, input)),
      commits.run(() => {
        ledger.claim('gate/g1', 'b', 1, input);
        throw new Error('half done');
      }),
      commits.run(() => ledger.claim('gate/g1', 'c', 1, input)),
    ]);
    assert.deepEqual(results.map((r) => r.status), ['fulfilled', 'rejected', 'fulfilled']);
    assert.ok(ledger.get('gate/g1', 'a'));
    assert.equal(ledger.get('gate/g1', 'b'), undefined, 'the failed write left nothing behind');
    assert.ok(ledger.get('gate/g1', 'c'));
  });

  it('a write the database refuses (read-only, disk full) rejects, and the next batch works again', async () => {
    const db = openMemoryDatabase();
    const commits = new GroupCommit(db);
    const ledger = new SqliteLedger(db);
    const input = { command: 'unlock', source: 'local' };
    db.pragma('query_only = ON');
    const failed = await Promise.allSettled([commits.run(() => ledger.claim('gate/g1', 'x', 1, input))]);
    assert.equal(failed[0].status, 'rejected');
    assert.match(String((failed[0] as PromiseRejectedResult).reason), /readonly/i, 'the database\'s own refusal');
    db.pragma('query_only = OFF');
    assert.equal(await commits.run(() => ledger.claim('gate/g1', 'x', 1, input)), undefined);
  });

  it('flush commits what is queued at once', () => {
    const db = openMemoryDatabase();
    const commits = new GroupCommit(db);
    const ledger = new SqliteLedger(db);
    void commits.run(() => ledger.claim('gate/g1', 'now', 1, { command: 'lock', source: 'local' }));
    commits.flush();
    assert.ok(ledger.get('gate/g1', 'now'));
  });
});
