// The broker's state in SQLite (broker.persistence: sqlite): the shared aedes-persistence
// conformance suite on a real database file (WAL, synchronous=FULL, the group commit), then what
// the suite does not ask: everything read back after the database is closed and opened again,
// a stored message committed before the call that stores it returns, deferred changes, and a row
// that cannot be read.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import type { Commit } from '../../src/commands/commit.js';
import type { StoredPacket } from '../../src/broker/persistence/durable-state.js';
import { GatehousePersistence } from '../../src/broker/persistence/gatehouse-persistence.js';
import { databasePath, openDatabase, type SqliteDatabase } from '../../src/store/database.js';
import { GroupCommit } from '../../src/store/group-commit.js';
import { SqliteBrokerState } from '../../src/store/sqlite-broker-state.js';
import { StoreError } from '../../src/store/store-error.js';
import { aedesPersistenceConformance } from '../broker/persistence/conformance.js';

const dirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-broker-state-'));
  dirs.push(dir);
  return dir;
}
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

const quiet = { error: () => undefined };

interface Opened {
  db: SqliteDatabase;
  persistence: GatehousePersistence;
  commits: GroupCommit;
}

/** A persistence over the database in `dir`, set up as aedes.listen() does (restoring what is there). */
async function open(dir: string, brokerId = 'broker-a', run?: Commit): Promise<Opened> {
  const db = openDatabase(dir);
  const commits = new GroupCommit(db);
  const persistence = new GatehousePersistence({ state: new SqliteBrokerState(db, run ?? commits.run, quiet) });
  await persistence.setup({ id: brokerId });
  return { db, persistence, commits };
}

/** As the gateway stops: everything handed over is stored, the database closed. */
async function close(opened: Opened): Promise<void> {
  await opened.persistence.drain();
  opened.commits.flush();
  opened.db.close();
}

async function list<T>(stream: AsyncIterable<T>): Promise<T[]> {
  const items: T[] = [];
  for await (const item of stream) items.push(item);
  return items;
}

const publish = (n: number, qos: 1 | 2 = 1, brokerId = 'broker-a'): StoredPacket => ({
  cmd: 'publish',
  topic: 'site/hq/gate/g1/event',
  payload: Buffer.from(JSON.stringify({ n })),
  qos,
  retain: false,
  dup: false,
  brokerId,
  brokerCounter: n,
});

aedesPersistenceConformance(
  'GatehousePersistence on SQLite',
  () => {
    const dir = tempDir();
    const db = openDatabase(dir);
    const commits = new GroupCommit(db);
    const persistence = new GatehousePersistence({ state: new SqliteBrokerState(db, commits.run, quiet) });
    const destroy = persistence.destroy.bind(persistence);
    persistence.destroy = async () => {
      await destroy();
      commits.flush();
      db.close();
    };
    return persistence;
  },
  { async: true },
);

describe('the broker state after the database is closed and opened again', () => {
  it('keeps subscriptions, queued messages in order with their identifiers, PUBRELs, QoS 2 packets awaiting PUBREL, retained messages and wills', async () => {
    const dir = tempDir();
    const first = await open(dir);
    const p = first.persistence;
    const desk = { id: 'desk', clean: false };
    await p.addSubscriptions(desk, [{ topic: 'site/hq/#', qos: 1 }, { topic: 'chat/+', qos: 2, rh: 0, rap: true, nl: false }]);
    for (let n = 1; n <= 5; n++) await p.outgoingEnqueueCombi([{ clientId: 'desk' }], publish(n, n === 4 ? 2 : 1));
    await p.outgoingUpdate(desk, { ...publish(1), messageId: 101 });
    await p.outgoingUpdate(desk, { ...publish(4, 2), messageId: 104 });
    await p.outgoingUpdate(desk, { cmd: 'pubrel', messageId: 104 });
    assert.ok(await p.outgoingClearMessageId(desk, { cmd: 'puback', messageId: 101 }));
    await p.storeRetained({ cmd: 'publish', topic: 'lobby/screen', payload: Buffer.from('welcome'), qos: 1, retain: true });
    await p.storeRetained({ cmd: 'publish', topic: 'lobby/gone', payload: Buffer.from('x'), qos: 0, retain: true });
    await p.storeRetained({ cmd: 'publish', topic: 'lobby/gone', payload: Buffer.alloc(0), qos: 0, retain: true });
    await p.incomingStorePacket(desk, { cmd: 'publish', topic: 'chat/a', payload: Buffer.from('q2'), qos: 2, messageId: 7, retain: false, dup: false });
    await p.putWill({ id: 'desk' }, { topic: 'desks/desk/status', payload: Buffer.from('gone'), qos: 1, retain: true });
    await close(first);

    const second = await open(dir, 'broker-b');
    const q = second.persistence;
    assert.deepEqual(q.restored, { sessions: 1, subscriptions: 2, queued: 4, retained: 1, wills: 1 });
    assert.deepEqual(await q.subscriptionsByClient({ id: 'desk' }), [
      { topic: 'site/hq/#', qos: 1, rh: undefined, rap: undefined, nl: undefined },
      { topic: 'chat/+', qos: 2, rh: 0, rap: true, nl: false },
    ]);
    assert.deepEqual((await q.subscriptionsByTopic('site/hq/gate/g1/event')).map((s) => s.clientId), ['desk']);
    const queued = await list(q.outgoingStream({ id: 'desk' }));
    assert.deepEqual(
      queued.map((m) => (m.cmd === 'pubrel' ? `pubrel ${m.messageId}` : `${JSON.parse(String(m.payload)).n} ${m.messageId}`)),
      ['2 undefined', '3 undefined', 'pubrel 104', '5 undefined'],
      'the acknowledged one is gone, the order kept, the PUBREL in its place',
    );
    assert.ok(Buffer.isBuffer(queued[0].payload));
    assert.deepEqual(
      (await list(q.createRetainedStreamCombi(['lobby/#']))).map((m) => [m.topic, String(m.payload)]),
      [['lobby/screen', 'welcome']],
    );
    const awaiting = await q.incomingGetPacket({ id: 'desk' }, { messageId: 7 });
    assert.equal(String(awaiting.payload), 'q2');
    assert.ok(q.awaitingPubrel('desk', 7));
    const wills = q.takeLeftoverWills();
    assert.deepEqual(wills.map((w) => [w.clientId, w.packet.topic, w.packet.brokerId]), [['desk', 'desks/desk/status', 'broker-a']]);
    await close(second);
  });

  it('resumes numbering after the last stored message, so a new message never takes an old one\'s place', async () => {
    const dir = tempDir();
    const first = await open(dir);
    for (let n = 1; n <= 3; n++) await first.persistence.outgoingEnqueueCombi([{ clientId: 'kiosk' }], publish(n));
    await close(first);
    const second = await open(dir, 'broker-b');
    await second.persistence.outgoingEnqueueCombi([{ clientId: 'kiosk' }], publish(1, 1, 'broker-b'));
    await close(second);
    const third = await open(dir, 'broker-c');
    const order = (await list(third.persistence.outgoingStream({ id: 'kiosk' }))).map((m) => `${m.brokerId} ${JSON.parse(String(m.payload)).n}`);
    assert.deepEqual(order, ['broker-a 1', 'broker-a 2', 'broker-a 3', 'broker-b 1']);
    await close(third);
  });

  it('forgets a session at a clean-session connect, with its subscriptions and queue', async () => {
    const dir = tempDir();
    const first = await open(dir);
    await first.persistence.addSubscriptions({ id: 'tablet', clean: false }, [{ topic: 'a/#', qos: 1 }]);
    await first.persistence.outgoingEnqueueCombi([{ clientId: 'tablet' }], publish(1));
    await first.persistence.cleanSubscriptions({ id: 'tablet', clean: true });
    await close(first);
    const second = await open(dir);
    assert.deepEqual(second.persistence.restored, { sessions: 0, subscriptions: 0, queued: 0, retained: 0, wills: 0 });
    await close(second);
  });

  it('keeps QoS 2 packets of a clean session in memory only', async () => {
    const dir = tempDir();
    const first = await open(dir);
    await first.persistence.incomingStorePacket({ id: 'pub', clean: true }, { cmd: 'publish', topic: 't', payload: Buffer.from('x'), qos: 2, messageId: 9 });
    assert.ok(first.persistence.awaitingPubrel('pub', 9));
    await close(first);
    const raw = new Database(databasePath(dir), { readonly: true });
    assert.equal((raw.prepare('SELECT COUNT(*) AS n FROM broker_incoming').get() as { n: number }).n, 0);
    raw.close();
  });
});

describe('when a change is on disk', () => {
  it('a message stored for a session is committed when outgoingEnqueueCombi resolves, seen by another connection', async () => {
    const dir = tempDir();
    const opened = await open(dir);
    const reader = new Database(databasePath(dir), { readonly: true });
    const rows = () => (reader.prepare('SELECT COUNT(*) AS n FROM broker_outgoing').get() as { n: number }).n;
    const stored = opened.persistence.outgoingEnqueueCombi([{ clientId: 'a' }, { clientId: 'b' }], publish(1));
    assert.equal(rows(), 0, 'not yet written while the call is under way');
    await stored;
    assert.equal(rows(), 2, 'one row per session once it resolved');
    reader.close();
    await close(opened);
  });

  it('an acknowledgement is deferred: written with the next commit, or at drain', async () => {
    const dir = tempDir();
    const opened = await open(dir);
    const p = opened.persistence;
    const client = { id: 'a', clean: false };
    await p.outgoingEnqueueCombi([{ clientId: 'a' }], publish(1));
    await p.outgoingUpdate(client, { ...publish(1), messageId: 1 });
    await p.outgoingClearMessageId(client, { cmd: 'puback', messageId: 1 });
    const reader = new Database(databasePath(dir), { readonly: true });
    const rows = () => (reader.prepare('SELECT COUNT(*) AS n FROM broker_outgoing').get() as { n: number }).n;
    assert.equal(rows(), 1, 'the PUBACK has not cost a commit of its own');
    await p.storeRetained({ cmd: 'publish', topic: 'x', payload: Buffer.from('y'), qos: 0, retain: true });
    assert.equal(rows(), 0, 'written together with the next commit');
    reader.close();
    await close(opened);
  });

  it('a message whose commit fails is not kept, and the call rejects', async () => {
    const dir = tempDir();
    const db = openDatabase(dir);
    const failing: Commit = () => Promise.reject(new Error('disk I/O error'));
    const persistence = new GatehousePersistence({ state: new SqliteBrokerState(db, failing, quiet) });
    await persistence.setup({ id: 'b' });
    await assert.rejects(persistence.outgoingEnqueueCombi([{ clientId: 'a' }], publish(1)), /disk I\/O error/);
    assert.equal(persistence.queuedFor('a'), 0);
    db.close();
  });
});

it('a stored row that cannot be read stops the start with STORE_CORRUPT, naming the table and the row', async () => {
  const dir = tempDir();
  const first = await open(dir);
  await first.persistence.outgoingEnqueueCombi([{ clientId: 'desk' }], publish(1));
  await close(first);
  const raw = new Database(databasePath(dir));
  raw.prepare('UPDATE broker_outgoing SET packet = ?').run(Buffer.from('not a packet'));
  raw.close();
  const db = openDatabase(dir);
  const persistence = new GatehousePersistence({ state: new SqliteBrokerState(db, new GroupCommit(db).run, quiet) });
  await assert.rejects(
    persistence.setup({ id: 'b' }),
    (err: unknown) => err instanceof StoreError && err.code === 'STORE_CORRUPT' && /row seq 1 of broker_outgoing cannot be read/.test(err.message) && /move the file/.test(err.message),
  );
  db.close();
});
