// The snapshot files of cameras: atomic writes, bounds in count and bytes per camera, pruning
// oldest first, rescan after a restart, and failures that are logged with a code, never thrown;
// and the SnapshotPublisher that publishes, stores and announces a snapshot.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { SnapshotPublisher } from '../../src/devices/snapshot-publisher.js';
import { parseSnapshotFileName, snapshotFileName, SnapshotFiles, type SnapshotFilesOptions } from '../../src/store/snapshot-files.js';

interface LogLine {
  level: string;
  obj: Record<string, unknown>;
  msg?: string;
}

function capture(): { log: SnapshotFilesOptions['log']; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const at = (level: string) => (obj: object, msg?: string) => void lines.push({ level, obj: obj as Record<string, unknown>, msg });
  return { log: { info: at('info'), warn: at('warn'), error: at('error') }, lines };
}

function tempDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-snapshots-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function startStore(t: TestContext, dir: string, bounds: { keep: number; maxBytes: number }) {
  const { log, lines } = capture();
  const store = new SnapshotFiles({ dir, ...bounds, log });
  t.after(() => store.stop());
  await store.start();
  return { store, lines };
}

/** A fake JPEG of `size` bytes whose content tells it apart (SOI marker, a counter, EOI marker). */
function jpeg(size: number, mark: number): Buffer {
  const bytes = Buffer.alloc(size, mark & 0xff);
  bytes[0] = 0xff;
  bytes[1] = 0xd8;
  bytes[size - 2] = 0xff;
  bytes[size - 1] = 0xd9;
  return bytes;
}

const T0 = Date.UTC(2024, 4, 1, 12, 30, 45, 123);

test('file names encode time and sequence, and sort by them', () => {
  const name = snapshotFileName(T0, 42);
  assert.equal(name, '2024-05-01T12-30-45.123Z-000042.jpg');
  assert.deepEqual(parseSnapshotFileName(name), { at: T0, seq: 42 });
  assert.equal(parseSnapshotFileName('notes.txt'), undefined);
  assert.equal(parseSnapshotFileName('.tmp-' + name), undefined);
  assert.ok(snapshotFileName(T0, 2) < snapshotFileName(T0, 10), 'zero-padded sequence keeps name order');
});

test('a saved snapshot is on disk byte for byte, in the camera\'s folder, with no temporary file left', async (t) => {
  const dir = tempDir(t);
  const { store } = await startStore(t, dir, { keep: 5, maxBytes: 1_000_000 });
  const bytes = jpeg(2048, 7);
  const saved = await store.save('cam-1', bytes, T0);
  assert.ok(saved);
  assert.equal(saved.path, join(dir, 'cam-1', saved.name));
  assert.equal(saved.bytes, 2048);
  assert.equal(saved.at, T0);
  assert.deepEqual(readFileSync(saved.path), bytes);
  assert.deepEqual(readdirSync(join(dir, 'cam-1')), [saved.name]);
  assert.deepEqual(store.usage('cam-1'), { files: 1, bytes: 2048 });
});

test('snapshots taken in the same millisecond do not collide', async (t) => {
  const dir = tempDir(t);
  const { store } = await startStore(t, dir, { keep: 10, maxBytes: 1_000_000 });
  const saved = await Promise.all([1, 2, 3, 4].map((i) => store.save('cam-1', jpeg(100, i), T0)));
  const names = saved.map((s) => s!.name);
  assert.equal(new Set(names).size, 4);
  for (const [i, s] of saved.entries()) assert.deepEqual(readFileSync(s!.path), jpeg(100, i + 1));
});

test('count bound: only the newest `keep` files remain, oldest pruned first, per camera', async (t) => {
  const dir = tempDir(t);
  const { store } = await startStore(t, dir, { keep: 3, maxBytes: 1_000_000 });
  for (let i = 0; i < 10; i++) await store.save('cam-1', jpeg(100, i), T0 + i * 1000);
  await store.save('cam-2', jpeg(100, 99), T0);
  const kept = store.list('cam-1');
  assert.deepEqual(kept.map((s) => s.at), [T0 + 7000, T0 + 8000, T0 + 9000]);
  assert.deepEqual(readdirSync(join(dir, 'cam-1')).sort(), kept.map((s) => s.name));
  assert.deepEqual(readFileSync(kept[2].path), jpeg(100, 9));
  assert.equal(store.list('cam-2').length, 1, 'another camera has its own bound');
});

test('byte bound: files are pruned until the camera\'s total fits', async (t) => {
  const dir = tempDir(t);
  const { store } = await startStore(t, dir, { keep: 100, maxBytes: 1000 });
  for (let i = 0; i < 8; i++) await store.save('cam-1', jpeg(300, i), T0 + i);
  const usage = store.usage('cam-1');
  assert.equal(usage.files, 3);
  assert.equal(usage.bytes, 900);
  const onDisk = readdirSync(join(dir, 'cam-1')).map((n) => readFileSync(join(dir, 'cam-1', n)).length);
  assert.equal(onDisk.reduce((a, b) => a + b, 0), 900);
});

test('retention holds after many snapshots of varying size', async (t) => {
  const dir = tempDir(t);
  const keep = 20;
  const maxBytes = 50_000;
  const { store } = await startStore(t, dir, { keep, maxBytes });
  for (let i = 0; i < 300; i++) {
    await store.save('cam-1', jpeg(500 + ((i * 997) % 4000), i), T0 + i);
    const usage = store.usage('cam-1');
    assert.ok(usage.files <= keep && usage.bytes <= maxBytes, `bounds broken after ${i + 1} saves: ${JSON.stringify(usage)}`);
  }
  const names = readdirSync(join(dir, 'cam-1'));
  assert.equal(names.length, store.usage('cam-1').files);
  const newest = store.list('cam-1').at(-1)!;
  assert.equal(newest.at, T0 + 299, 'the newest snapshot is always kept');
});

test('a snapshot larger than the byte bound is refused with SNAPSHOT_TOO_LARGE and older files stay', async (t) => {
  const dir = tempDir(t);
  const { store, lines } = await startStore(t, dir, { keep: 5, maxBytes: 1000 });
  await store.save('cam-1', jpeg(500, 1), T0);
  assert.equal(await store.save('cam-1', jpeg(1001, 2), T0 + 1), undefined);
  assert.ok(lines.some((l) => l.obj.code === 'SNAPSHOT_TOO_LARGE' && l.obj.bytes === 1001));
  assert.equal(store.usage('cam-1').files, 1);
});

test('after a restart the files are found again, temporary leftovers removed, lowered bounds applied, sequence continued', async (t) => {
  const dir = tempDir(t);
  const first = await startStore(t, dir, { keep: 10, maxBytes: 1_000_000 });
  for (let i = 0; i < 6; i++) await first.store.save('cam-1', jpeg(100, i), T0 + i);
  await first.store.stop();
  const lastSeq = first.store.list('cam-1').at(-1)!.seq;
  // A write a crash interrupted, and a file someone else put there.
  writeFileSync(join(dir, 'cam-1', `.tmp-${snapshotFileName(T0 + 50, 99)}`), 'half');
  writeFileSync(join(dir, 'cam-1', 'README'), 'not a snapshot');

  const second = await startStore(t, dir, { keep: 4, maxBytes: 1_000_000 });
  assert.deepEqual(second.store.list('cam-1').map((s) => s.at), [T0 + 2, T0 + 3, T0 + 4, T0 + 5]);
  const names = readdirSync(join(dir, 'cam-1')).sort();
  assert.ok(!names.some((n) => n.startsWith('.tmp-')), 'temporary file removed');
  assert.ok(names.includes('README'), 'foreign files are left alone');
  assert.equal(names.length, 5);
  const next = await second.store.save('cam-1', jpeg(100, 9), T0 + 10);
  assert.ok(next && next.seq > lastSeq, 'sequence continues after the restart');
});

test('a folder that cannot be written: SNAPSHOT_WRITE_FAILED is logged, save resolves undefined, other cameras still work', async (t) => {
  const dir = tempDir(t);
  const { store, lines } = await startStore(t, dir, { keep: 5, maxBytes: 1_000_000 });
  // A regular file where the camera's folder should be: mkdir fails even for root.
  writeFileSync(join(dir, 'cam-x'), 'in the way');
  const saved = await store.save('cam-x', jpeg(100, 1), T0);
  assert.equal(saved, undefined);
  const line = lines.find((l) => l.obj.code === 'SNAPSHOT_WRITE_FAILED');
  assert.ok(line, JSON.stringify(lines));
  assert.equal(line.level, 'error');
  assert.match(String(line.obj.errno), /^E[A-Z]+$/);
  assert.ok(await store.save('cam-1', jpeg(100, 2), T0), 'another camera is unaffected');
});

test('an unreadable snapshot root is logged with SNAPSHOT_SCAN_FAILED on start, and saving fails softly', async (t) => {
  const dir = tempDir(t);
  const root = join(dir, 'snapshots');
  writeFileSync(root, 'a file, not a folder');
  const { store, lines } = await startStore(t, root, { keep: 5, maxBytes: 1_000_000 });
  assert.ok(lines.some((l) => l.obj.code === 'SNAPSHOT_SCAN_FAILED'));
  assert.equal(await store.save('cam-1', jpeg(100, 1), T0), undefined);
  assert.ok(lines.some((l) => l.obj.code === 'SNAPSHOT_WRITE_FAILED'));
});

test('nothing is written before start() or after stop()', async (t) => {
  const dir = tempDir(t);
  const { log } = capture();
  const store = new SnapshotFiles({ dir: join(dir, 'snapshots'), keep: 5, maxBytes: 1000, log });
  assert.equal(existsSync(join(dir, 'snapshots')), false, 'the constructor is inert');
  assert.equal(await store.save('cam-1', jpeg(100, 1), T0), undefined);
  await store.start();
  await store.stop();
  assert.equal(await store.save('cam-1', jpeg(100, 1), T0), undefined);
  assert.equal(existsSync(join(dir, 'snapshots', 'cam-1')), false);
});

// ---------------------------------------------------------------------------------------------
// SnapshotPublisher: what the gateway does with a camera's snapshot (image, file, event)

test('a snapshot is published as bytes on the image topic, kept as a file, then announced with size, time and file', async (t) => {
  const dataDir = tempDir(t);
  const { log } = capture();
  const files = new SnapshotFiles({ dir: join(dataDir, 'snapshots'), keep: 5, maxBytes: 1_000_000, log });
  await files.start();
  t.after(() => files.stop());
  const order: string[] = [];
  const published: { topic: string; payload: Buffer; retain: boolean }[] = [];
  const events: { device: string; type: string; details: Record<string, unknown> }[] = [];
  const publisher = new SnapshotPublisher<{ id: string }>({
    site: 'hq',
    dataDir,
    files,
    publish: (topic, payload, retain) => {
      order.push('image');
      published.push({ topic, payload, retain });
    },
    event: (device, type, details) => {
      order.push('event');
      events.push({ device: device.id, type, details });
    },
  });
  const bytes = jpeg(4321, 5);
  await publisher.publish({ id: 'cam-1' }, new Uint8Array(bytes), { at: T0 });
  assert.deepEqual(order, ['image', 'event']);
  assert.equal(published[0].topic, 'site/hq/camera/cam-1/image');
  assert.equal(published[0].retain, false);
  assert.deepEqual(published[0].payload, bytes);
  const [event] = events;
  assert.equal(event.type, 'snapshot');
  assert.equal(event.device, 'cam-1');
  assert.equal(event.details.bytes, 4321);
  assert.equal(event.details.at, T0);
  assert.equal(event.details.file, `snapshots/cam-1/${snapshotFileName(T0, 1)}`);
  assert.deepEqual(readFileSync(join(dataDir, event.details.file as string)), bytes);
});

test('a snapshot that cannot be stored is still published and announced, without a file', async (t) => {
  const dataDir = tempDir(t);
  const { log, lines } = capture();
  writeFileSync(join(dataDir, 'snapshots'), 'not a folder');
  const files = new SnapshotFiles({ dir: join(dataDir, 'snapshots'), keep: 5, maxBytes: 1_000_000, log });
  await files.start();
  t.after(() => files.stop());
  const images: Buffer[] = [];
  const details: Record<string, unknown>[] = [];
  const publisher = new SnapshotPublisher<{ id: string }>({
    site: 'hq',
    dataDir,
    files,
    publish: (_topic, payload) => void images.push(payload),
    event: (_device, _type, d) => void details.push(d),
    now: () => T0 + 7,
  });
  await publisher.publish({ id: 'cam-1' }, jpeg(100, 1));
  assert.equal(images.length, 1);
  assert.deepEqual(details, [{ bytes: 100, at: T0 + 7 }], 'no file; the time it arrived when the camera gave none');
  assert.ok(lines.some((l) => l.obj.code === 'SNAPSHOT_WRITE_FAILED'));
});
