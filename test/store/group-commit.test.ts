import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { openMemoryDatabase } from '../../src/store/database.js';
import { GroupCommit } from '../../src/store/group-commit.js';
import { PooledSync } from '../../src/store/pooled-sync.js';
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

/** A group commit whose sync the test releases by hand: each sync is recorded with the ids claimed when it started. */
function heldCommits() {
  const db = openMemoryDatabase();
  const calls: { claimed: string[]; release: () => void; fail: (err: Error) => void }[] = [];
  const sync = () =>
    new Promise<void>((resolve, reject) => {
      const claimed = (db.prepare('SELECT id FROM command_ids ORDER BY id').all() as { id: string }[]).map((r) => r.id);
      calls.push({ claimed, release: resolve, fail: reject });
    });
  return { db, ledger: new SqliteLedger(db), calls, commits: new GroupCommit(db, { sync: new PooledSync(sync) }) };
}

const input = { command: 'unlock', source: 'local' };

/** Whether a promise has settled after the microtasks queued now have run. */
async function settled(promise: Promise<unknown>): Promise<boolean> {
  let done = false;
  promise.then(() => (done = true), () => (done = true));
  await new Promise((resolve) => setImmediate(resolve));
  return done;
}

describe('group commit with a pooled sync (synchronous=NORMAL, then an fsync of the WAL)', () => {
  it('a write resolves only once a sync started after its COMMIT has returned', async () => {
    const { ledger, calls, commits } = heldCommits();
    const claim = commits.run(() => ledger.claim('gate/g1', 'a', 1, input));
    commits.flush();
    assert.equal(calls.length, 1, 'one sync for the batch');
    assert.deepEqual(calls[0].claimed, ['a'], 'the sync starts after the batch is committed');
    assert.equal(await settled(claim), false, 'committed is not enough: the claim waits for its sync');
    calls[0].release();
    assert.equal(await claim, undefined, 'then it resolves with the write\'s value');
  });

  it('batches committed while a sync runs wait for the next sync, which starts when that one returns', async () => {
    const { ledger, calls, commits } = heldCommits();
    const first = commits.run(() => ledger.claim('gate/g1', 'a', 1, input));
    commits.flush();
    const second = commits.run(() => ledger.claim('gate/g1', 'b', 2, input));
    commits.flush();
    const third = commits.run(() => ledger.claim('gate/g1', 'a', 3, input));
    commits.flush();
    assert.equal(calls.length, 1, 'one sync in flight at a time');
    calls[0].release();
    assert.equal(await first, undefined);
    assert.equal(await settled(second), false, 'the first sync may have started before the second batch was written');
    assert.equal(calls.length, 2, 'the next sync covers both batches committed meanwhile');
    assert.deepEqual(calls[1].claimed, ['a', 'b']);
    calls[1].release();
    assert.equal(await second, undefined);
    assert.equal((await third)?.createdAt, 1, 'a duplicate id is answered with the earlier claim, once durable');
  });

  it('writes handed over while a sync runs wait for it, then are committed together before one sync', async () => {
    const { db, ledger, calls, commits } = heldCommits();
    const first = commits.run(() => ledger.claim('gate/g1', 'a', 1, input));
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(calls.length, 1, 'the first turn committed and its sync runs');
    const later: Promise<unknown>[] = [];
    for (const id of ['b', 'c', 'd']) {
      later.push(commits.run(() => ledger.claim('gate/g1', id, 2, input)));
      await new Promise((resolve) => setImmediate(resolve));
    }
    assert.equal((db.prepare('SELECT count(*) AS n FROM command_ids').get() as { n: number }).n, 1, 'nothing more committed while the sync runs');
    calls[0].release();
    await first;
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(calls.length, 2, 'one sync for the three turns');
    assert.deepEqual(calls[1].claimed, ['a', 'b', 'c', 'd'], 'all committed when it started');
    calls[1].release();
    await Promise.all(later);
  });

  it('commits at NORMAL and gives every other writer the connection\'s own level back', async () => {
    const db = openMemoryDatabase();
    db.pragma('synchronous = FULL');
    const commits = new GroupCommit(db, { sync: new PooledSync(() => Promise.resolve()) });
    const during = await commits.run(() => db.pragma('synchronous', { simple: true }));
    assert.equal(during, 1, 'NORMAL inside the group transaction');
    assert.equal(db.pragma('synchronous', { simple: true }), 2, 'FULL again after it');
    await assert.rejects(commits.run(() => db.prepare('INSERT INTO no_such_table VALUES (1)').run()));
    assert.equal(db.pragma('synchronous', { simple: true }), 2, 'FULL again after a failed write too');
    const plain = new GroupCommit(db);
    assert.equal(await plain.run(() => db.pragma('synchronous', { simple: true })), 2, 'without a sync the connection\'s level is left alone');
  });

  it('a failed sync rejects every write of its batch with the error; the next batch syncs again', async () => {
    const { ledger, calls, commits } = heldCommits();
    const writes = [commits.run(() => ledger.claim('gate/g1', 'a', 1, input)), commits.run(() => ledger.claim('gate/g1', 'b', 1, input))];
    commits.flush();
    const eio = Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' });
    calls[0].fail(eio);
    for (const write of writes) await assert.rejects(write, eio);
    const next = commits.run(() => ledger.claim('gate/g1', 'c', 1, input));
    commits.flush();
    assert.equal(calls.length, 2);
    calls[1].release();
    assert.equal(await next, undefined);
  });

  it('a write that fails is rejected at once, without waiting for the sync', async () => {
    const { ledger, calls, commits } = heldCommits();
    const good = commits.run(() => ledger.claim('gate/g1', 'a', 1, input));
    const bad = commits.run(() => {
      throw new Error('refused');
    });
    commits.flush();
    await assert.rejects(bad, /refused/);
    assert.equal(await settled(good), false);
    calls[0].release();
    await good;
  });

  it('drain commits what is queued and returns once every committed write is synced', async () => {
    const { ledger, calls, commits } = heldCommits();
    const first = commits.run(() => ledger.claim('gate/g1', 'a', 1, input));
    commits.flush();
    const second = commits.run(() => ledger.claim('gate/g1', 'b', 1, input));
    const drained = commits.drain();
    assert.ok(ledger.get('gate/g1', 'b'), 'the queued write is committed at once');
    assert.equal(await settled(drained), false);
    calls[0].release();
    await first;
    assert.equal(await settled(drained), false, 'the second batch still waits for its own sync');
    calls[1].release();
    await drained;
    assert.equal(await second, undefined);
  });
});

