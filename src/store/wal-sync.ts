import { closeSync, fdatasync, fsyncSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import type { SqliteDatabase } from './database.js';

/**
 * Syncs a WAL-mode database's `-wal` file in libuv's thread pool, so a group commit written with
 * synchronous=NORMAL (frames written, nothing synced) becomes durable without holding the event
 * loop: fdatasync is per file, whichever descriptor wrote, so one call makes every frame written
 * before it durable, which is what synchronous=FULL does inside COMMIT. SQLite keeps the `-wal`
 * file (same inode) while the gateway's connection is open; checkpoints sync it themselves.
 */
export class WalSync {
  readonly path: string;
  private fd: number | undefined;

  private constructor(path: string, fd: number) {
    this.path = path;
    this.fd = fd;
  }

  /** For a database opened by openDatabase (WAL, already read, so its `-wal` file exists). */
  static open(db: SqliteDatabase): WalSync {
    const path = `${db.name}-wal`;
    const fd = openSync(path, 'r');
    // The file's directory entry must be durable too, or a power cut could lose the whole file.
    const dir = openSync(dirname(path), 'r');
    try {
      fsyncSync(dir);
    } finally {
      closeSync(dir);
    }
    return new WalSync(path, fd);
  }

  /** Resolves once everything written to the `-wal` file before the call is on disk. */
  sync(): Promise<void> {
    const fd = this.fd;
    if (fd === undefined) return Promise.reject(new Error(`${this.path}: closed`));
    return new Promise((resolve, reject) => fdatasync(fd, (err) => (err ? reject(err) : resolve())));
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}
