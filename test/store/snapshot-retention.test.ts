// Which snapshot files SnapshotFiles keeps: the newest even when the system clock went back (NTP
// correction), across a restart too; and a camera name cannot lead outside the snapshot folder.
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { SnapshotFiles } from '../../src/store/snapshot-files.js';
import { tempDir } from '../support/temp.js';

const lines: { obj: object; msg?: string }[] = [];
const log = { info: (obj: object, msg?: string) => void lines.push({ obj, msg }), warn: (obj: object, msg?: string) => void lines.push({ obj, msg }), error: (obj: object, msg?: string) => void lines.push({ obj, msg }) };

function jpeg(mark: number): Buffer {
  return Buffer.from([0xff, 0xd8, mark, 0xff, 0xd9]);
}

const T0 = Date.UTC(2024, 4, 1, 12, 0, 0, 0);

test('the clock went back: the snapshot just taken is kept, the oldest stored one goes; still so after a restart', async (t) => {
  const dir = tempDir(t, 'snapshots');
  const store = new SnapshotFiles({ dir, keep: 2, maxBytes: 1_000_000, log });
  await store.start();
  await store.save('cam-1', jpeg(1), T0);
  await store.save('cam-1', jpeg(2), T0 + 60_000);
  // NTP stepped the clock back an hour.
  const latest = await store.save('cam-1', jpeg(3), T0 - 3_600_000);
  assert.ok(latest !== undefined, 'the newest snapshot was stored');
  assert.deepEqual(store.list('cam-1').map((f) => f.seq), [2, 3], 'kept: the two taken last');
  await store.stop();

  const again = new SnapshotFiles({ dir, keep: 2, maxBytes: 1_000_000, log });
  await again.start();
  t.after(() => again.stop());
  const after = await again.save('cam-1', jpeg(4), T0 - 3_000_000);
  assert.ok(after !== undefined);
  assert.deepEqual(again.list('cam-1').map((f) => f.seq), [3, 4], 'order survives the restart');
  assert.equal(readdirSync(join(dir, 'cam-1')).length, 2);
});

test('a camera name that is not a device id is refused: nothing is written outside the snapshot folder', async (t) => {
  const root = tempDir(t, 'snapshots');
  const dir = join(root, 'snapshots');
  const store = new SnapshotFiles({ dir, keep: 2, maxBytes: 1_000_000, log });
  await store.start();
  t.after(() => store.stop());
  for (const camera of ['../escape', '..', '/tmp/abs', 'a/b', '']) {
    assert.equal(await store.save(camera, jpeg(1), T0), undefined, camera);
  }
  assert.deepEqual(readdirSync(root), ['snapshots']);
  assert.ok(!existsSync(join(root, 'escape')));
  assert.deepEqual(readdirSync(dir), []);
});
