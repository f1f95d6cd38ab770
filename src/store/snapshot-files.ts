// The last snapshots of each camera as JPEG files under {data_dir}/snapshots/{camera}/, bounded
// per camera in count and bytes, oldest pruned first. Files are written atomically (a temporary
// file, flushed, then renamed), so a crash leaves whole files or a temporary one that the next
// start removes. Nothing here ever throws into the caller: a snapshot that cannot be stored is
// logged with a code and still published.

import { mkdir, open, readdir, rename, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { isValidId } from '../topics.js';

export type SnapshotFileErrorCode =
  /** The file could not be written (disk full, folder not writable, ...); `errno` says which. */
  | 'SNAPSHOT_WRITE_FAILED'
  /** One snapshot is larger than the per-camera byte bound; it is published but not stored. */
  | 'SNAPSHOT_TOO_LARGE'
  /** An old snapshot could not be deleted; it is retried at the next save. */
  | 'SNAPSHOT_PRUNE_FAILED'
  /** The folder could not be read on start; that camera starts with an empty index. */
  | 'SNAPSHOT_SCAN_FAILED'
  /** A camera name that is not a device id (it would name a folder outside the snapshot folder); nothing stored. */
  | 'SNAPSHOT_BAD_CAMERA';

export interface SnapshotFilesLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface SnapshotFilesOptions {
  /** The folder holding one sub-folder per camera, normally `{data_dir}/snapshots`. */
  dir: string;
  /** Files kept per camera, at most. */
  keep: number;
  /** Bytes kept per camera, at most (sum of the files' sizes). */
  maxBytes: number;
  log: SnapshotFilesLogger;
}

export interface StoredSnapshot {
  camera: string;
  /** File name inside the camera's folder. */
  name: string;
  /** Absolute path. */
  path: string;
  bytes: number;
  /** Epoch ms the snapshot was taken, as encoded in the name. */
  at: number;
  seq: number;
}

export interface CameraUsage {
  files: number;
  bytes: number;
}

const EXTENSION = '.jpg';
const TEMP_PREFIX = '.tmp-';
/** 2024-05-01T12-30-45.123Z-000042.jpg: time (colons replaced, for every file system), then a sequence. */
const NAME_PATTERN = /^(\d{4}-\d{2}-\d{2})T(\d{2})-(\d{2})-(\d{2})\.(\d{3})Z-(\d{6,})\.jpg$/;
const SEQ_DIGITS = 6;

export function snapshotFileName(at: number, seq: number): string {
  const iso = new Date(at).toISOString().replace(/:/g, '-');
  return `${iso}-${String(seq).padStart(SEQ_DIGITS, '0')}${EXTENSION}`;
}

/** The time and sequence a snapshot file name encodes; undefined for files this store did not write. */
export function parseSnapshotFileName(name: string): { at: number; seq: number } | undefined {
  const m = NAME_PATTERN.exec(name);
  if (!m) return undefined;
  const at = Date.parse(`${m[1]}T${m[2]}:${m[3]}:${m[4]}.${m[5]}Z`);
  if (Number.isNaN(at)) return undefined;
  return { at, seq: Number(m[6]) };
}

/**
 * Order taken, by sequence: it only grows (continued across restarts), while the time in a name is
 * the wall clock's, which NTP may step back; by time, the snapshot just taken would go first.
 */
function byAge(a: StoredSnapshot, b: StoredSnapshot): number {
  return a.seq - b.seq || a.at - b.at;
}

function errno(err: unknown): string {
  return (err as NodeJS.ErrnoException).code ?? (err instanceof Error ? err.message : String(err));
}

class CameraFolder {
  /** Oldest first. */
  readonly files: StoredSnapshot[] = [];
  bytes = 0;
  nextSeq = 1;
  /** Saves of one camera run one after another, so pruning and the index stay consistent. */
  turn: Promise<unknown> = Promise.resolve();

  constructor(
    readonly camera: string,
    readonly dir: string,
  ) {}

  add(file: StoredSnapshot): void {
    this.files.push(file);
    this.files.sort(byAge);
    this.bytes += file.bytes;
    this.nextSeq = Math.max(this.nextSeq, file.seq + 1);
  }

  remove(file: StoredSnapshot): void {
    const i = this.files.indexOf(file);
    if (i < 0) return;
    this.files.splice(i, 1);
    this.bytes -= file.bytes;
  }
}

export class SnapshotFiles {
  private readonly cameras = new Map<string, CameraFolder>();
  private started = false;

  constructor(private readonly opts: SnapshotFilesOptions) {}

  /**
   * Reads what earlier runs left: indexes every camera folder, deletes temporary files of writes
   * a crash interrupted, and prunes to the current bounds (they may have been lowered).
   */
  async start(): Promise<void> {
    this.started = true;
    let entries: string[];
    try {
      await mkdir(this.opts.dir, { recursive: true });
      entries = (await readdir(this.opts.dir, { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name);
    } catch (err) {
      this.opts.log.error({ code: 'SNAPSHOT_SCAN_FAILED', errno: errno(err), dir: this.opts.dir }, 'cannot read the snapshot folder; snapshots are published but may not be stored');
      return;
    }
    for (const camera of entries) {
      const folder = this.folder(camera);
      await this.inTurn(folder, async () => {
        await this.scan(folder);
        await this.prune(folder);
      });
    }
  }

  /** Waits for saves under way. */
  async stop(): Promise<void> {
    this.started = false;
    await Promise.all([...this.cameras.values()].map((f) => f.turn.catch(() => undefined)));
  }

  /**
   * Stores one snapshot of `camera`, then prunes the oldest files beyond the bounds. Resolves with
   * the stored file, or undefined when it could not be stored (the reason is logged with a code).
   */
  save(camera: string, jpeg: Uint8Array, at: number = Date.now()): Promise<StoredSnapshot | undefined> {
    if (!this.started) return Promise.resolve(undefined);
    if (!isValidId(camera)) {
      this.opts.log.error({ code: 'SNAPSHOT_BAD_CAMERA', camera }, 'snapshot of a camera whose name is not a device id; published but not stored');
      return Promise.resolve(undefined);
    }
    const folder = this.folder(camera);
    return this.inTurn(folder, async () => {
      if (jpeg.length > this.opts.maxBytes) {
        this.opts.log.warn(
          { code: 'SNAPSHOT_TOO_LARGE', camera, bytes: jpeg.length, max_bytes: this.opts.maxBytes },
          'snapshot larger than the per-camera bound; published but not stored',
        );
        return undefined;
      }
      const seq = folder.nextSeq++;
      const name = snapshotFileName(at, seq);
      const file: StoredSnapshot = { camera, name, path: join(folder.dir, name), bytes: jpeg.length, at, seq };
      try {
        await writeAtomically(folder.dir, name, jpeg);
      } catch (err) {
        this.opts.log.error({ code: 'SNAPSHOT_WRITE_FAILED', errno: errno(err), camera, file: file.path }, 'could not store a snapshot; it was published but is not kept on disk');
        return undefined;
      }
      folder.add(file);
      await this.prune(folder);
      return folder.files.includes(file) ? file : undefined;
    });
  }

  /** The stored snapshots of `camera`, oldest first. */
  list(camera: string): StoredSnapshot[] {
    return [...(this.cameras.get(camera)?.files ?? [])];
  }

  usage(camera: string): CameraUsage {
    const folder = this.cameras.get(camera);
    return { files: folder?.files.length ?? 0, bytes: folder?.bytes ?? 0 };
  }

  private folder(camera: string): CameraFolder {
    let folder = this.cameras.get(camera);
    if (!folder) this.cameras.set(camera, (folder = new CameraFolder(camera, join(this.opts.dir, camera))));
    return folder;
  }

  private inTurn<T>(folder: CameraFolder, work: () => Promise<T>): Promise<T> {
    const next = folder.turn.then(work, work);
    folder.turn = next.catch(() => undefined);
    return next;
  }

  private async scan(folder: CameraFolder): Promise<void> {
    let names: string[];
    try {
      names = await readdir(folder.dir);
    } catch (err) {
      this.opts.log.error({ code: 'SNAPSHOT_SCAN_FAILED', errno: errno(err), dir: folder.dir }, 'cannot read a camera\'s snapshot folder');
      return;
    }
    for (const name of names) {
      const path = join(folder.dir, name);
      if (name.startsWith(TEMP_PREFIX)) {
        // A write interrupted by a crash or power cut: never renamed, so never a snapshot.
        await unlink(path).catch(() => undefined);
        continue;
      }
      const parsed = parseSnapshotFileName(name);
      if (!parsed) continue; // not ours: left alone, not counted
      try {
        const info = await stat(path);
        if (info.isFile()) folder.add({ camera: folder.camera, name, path, bytes: info.size, ...parsed });
      } catch {
        // Gone meanwhile.
      }
    }
  }

  /** Oldest first until both bounds hold. A file that cannot be deleted stays indexed and is retried next time. */
  private async prune(folder: CameraFolder): Promise<void> {
    const { keep, maxBytes } = this.opts;
    let i = 0;
    let files = folder.files.length;
    let bytes = folder.bytes;
    const victims: StoredSnapshot[] = [];
    while (i < folder.files.length && (files > keep || bytes > maxBytes)) {
      const victim = folder.files[i++];
      victims.push(victim);
      files--;
      bytes -= victim.bytes;
    }
    for (const victim of victims) {
      try {
        await unlink(victim.path);
        folder.remove(victim);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
          folder.remove(victim);
          continue;
        }
        this.opts.log.warn({ code: 'SNAPSHOT_PRUNE_FAILED', errno: errno(err), file: victim.path }, 'could not delete an old snapshot; retried at the next save');
      }
    }
  }
}

/** Temporary file in the same folder, flushed to disk, then renamed over the final name (rename is atomic within a file system). */
async function writeAtomically(dir: string, name: string, bytes: Uint8Array): Promise<void> {
  await mkdir(dir, { recursive: true });
  const temp = join(dir, `${TEMP_PREFIX}${name}`);
  try {
    const handle = await open(temp, 'w', 0o640);
    try {
      await handle.writeFile(bytes);
      await handle.datasync();
    } finally {
      await handle.close();
    }
    await rename(temp, join(dir, name));
  } catch (err) {
    await unlink(temp).catch(() => undefined);
    throw err;
  }
}
