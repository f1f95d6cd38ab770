// How the gateway wires its cloud outbox to the database: with uplink.synchronous FULL a message
// counts (its promise settles, a PUBACK may go) once the pooled fsync of the WAL after its commit
// has returned; with NORMAL once it is committed.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createUplink } from '../../src/gateway/create-uplink.js';
import { builtinRegistries } from '../../src/registries.js';
import { openMemoryDatabase } from '../../src/store/database.js';
import { PooledSync } from '../../src/store/pooled-sync.js';
import { configDocument, loadHarnessConfig, testLogger } from '../support/site.js';
import { uplinkSection } from '../uplink/uplink-harness.js';

async function wiredUplink(synchronous: 'FULL' | 'NORMAL') {
  // Neither port is ever connected to: the uplink is built, not started, and no device runs.
  const document = await configDocument(1502, '/nonexistent/unused');
  document.uplink = uplinkSection('mqtt://127.0.0.1', { synchronous });
  const releases: (() => void)[] = [];
  const syncs = new PooledSync(() => new Promise<void>((resolve) => releases.push(resolve)));
  const db = openMemoryDatabase();
  const uplink = createUplink({ config: loadHarnessConfig(document), db, syncs, session: 1, kinds: builtinRegistries.kinds, retainedPicture: () => [], submit: () => undefined, log: testLogger() });
  const depth = () => (db.prepare('SELECT count(*) AS n FROM outbox').get() as { n: number }).n;
  return { uplink, releases, depth };
}

const settledSoon = async (promise: Promise<unknown>) => {
  let done = false;
  void promise.then(() => (done = true));
  await new Promise((resolve) => setImmediate(resolve));
  await new Promise((resolve) => setImmediate(resolve));
  return done;
};

test('uplink.synchronous FULL: a message is committed at the end of its turn and counts once the sync after it returns', async () => {
  const { uplink, releases, depth } = await wiredUplink('FULL');
  const sent = uplink.send('site/hq/app/feed', 'one', false);
  assert.equal(await settledSoon(sent), false);
  assert.equal(depth(), 1, 'committed');
  assert.equal(releases.length, 1, 'one sync asked for');
  releases[0]();
  await sent;
});

test('uplink.synchronous NORMAL: a message counts once committed, no sync asked for', async () => {
  const { uplink, releases, depth } = await wiredUplink('NORMAL');
  const sent = uplink.send('site/hq/app/feed', 'one', false);
  assert.equal(await settledSoon(sent), true);
  assert.equal(depth(), 1);
  assert.equal(releases.length, 0);
});
