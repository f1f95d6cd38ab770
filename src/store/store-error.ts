// Stable error codes for opening the gateway's database, with messages that say what to do.
import { accessSync, constants, existsSync } from 'node:fs';
import { dirname } from 'node:path';

export type StoreErrorCode =
  /** The file is not a SQLite database, or its pages are damaged. */
  | 'STORE_CORRUPT'
  /** The file or its folder cannot be written by this process. */
  | 'STORE_READONLY'
  /** Another process holds the write lock. */
  | 'STORE_LOCKED'
  /** The disk (or the database's page limit) is full. */
  | 'STORE_FULL'
  | 'STORE_OPEN_FAILED';

export class StoreError extends Error {
  readonly code: StoreErrorCode;

  constructor(code: StoreErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StoreError';
    this.code = code;
  }
}

function who(): string {
  return typeof process.getuid === 'function' ? `uid ${process.getuid()}` : 'this user';
}

/**
 * Throws STORE_READONLY unless this process may write `file` (when it exists) and its folder
 * (SQLite creates the -wal and -shm files there). Root passes unless the file system is read-only.
 */
export function assertWritable(file: string): void {
  for (const path of existsSync(file) ? [file, dirname(file)] : [dirname(file)]) {
    try {
      accessSync(path, constants.W_OK);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? 'EACCES';
      throw new StoreError('STORE_READONLY', `cannot write ${path} (${code}) as ${who()}: gatehouse needs write access to its data_dir and the database files in it`, { cause: err });
    }
  }
}

/** Turns an error from opening or migrating `file` into a StoreError that says what happened and what to do. */
export function explainOpenError(err: unknown, file: string): Error {
  if (err instanceof StoreError) return err;
  const code = String((err as { code?: string }).code ?? '');
  const detail = err instanceof Error ? err.message : String(err);
  if (code === 'SQLITE_NOTADB' || code.startsWith('SQLITE_CORRUPT')) {
    return new StoreError(
      'STORE_CORRUPT',
      `${file} is damaged or not a gatehouse database (${code}: ${detail}). Stop gatehouse, move the file (and any -wal/-shm beside it) aside to keep it for analysis, and start again with an empty database; the outbox, remembered command ids, journal and broker state (persistent sessions, their queued messages, retained messages) in it are lost.`,
      { cause: err },
    );
  }
  if (code.startsWith('SQLITE_READONLY') || code === 'EACCES' || code === 'EPERM' || code === 'EROFS') {
    return new StoreError('STORE_READONLY', `cannot write ${file} (${code}: ${detail}) as ${who()}: gatehouse needs write access to its data_dir and the database files in it`, { cause: err });
  }
  if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) {
    return new StoreError('STORE_LOCKED', `${file} is locked by another process (${code}); is another gatehouse running with the same data_dir?`, { cause: err });
  }
  if (code === 'SQLITE_FULL' || code === 'ENOSPC') {
    return new StoreError('STORE_FULL', `no space left for ${file} (${code}: ${detail})`, { cause: err });
  }
  return new StoreError('STORE_OPEN_FAILED', `cannot open ${file}: ${code ? `${code}: ` : ''}${detail}`, { cause: err });
}
