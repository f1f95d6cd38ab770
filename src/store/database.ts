import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { migrate } from './migrations.js';
import { assertWritable, explainOpenError } from './store-error.js';

export type SqliteDatabase = Database.Database;

export const DATABASE_FILE = 'gatehouse.db';

/**
 * SQLite's page cache per connection, in KiB (cache_size takes a negative number as KiB).
 * better-sqlite3 builds SQLite with a 16 MiB default, which a growing journal fills over days;
 * 2 MiB is SQLite's own default. Reading a 42 MB database three times grew RSS by 16.2 MB at
 * the 16 MiB default, 2.0 MB at 2 MiB, 0.2-0.9 MB at 512 KiB (docs/performance.md, "Idle memory"):
 * pages beyond the cache come back from the kernel's page cache, not the disk.
 */
export const PAGE_CACHE_KIB = 2048;

export function databasePath(dataDir: string): string {
  return join(dataDir, DATABASE_FILE);
}

/**
 * Open the gateway's one database: WAL so readers (the CLI) never block the gateway, and
 * synchronous=FULL for every writer that does not sync by itself (the group commit commits at
 * NORMAL and fsyncs the WAL off the event loop: gateway-store.ts).
 */
export function openDatabase(dataDir: string, opts: { readonly?: boolean } = {}): SqliteDatabase {
  const file = databasePath(dataDir);
  let db: SqliteDatabase | undefined;
  try {
    if (!opts.readonly) {
      mkdirSync(dirname(file), { recursive: true });
      // SQLite would quietly open an unwritable file read-only and fail at the first write.
      assertWritable(file);
    }
    db = new Database(file, { readonly: opts.readonly ?? false, fileMustExist: opts.readonly ?? false });
    db.pragma('busy_timeout = 5000');
    db.pragma(`cache_size = -${PAGE_CACHE_KIB}`);
    if (!opts.readonly) {
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = FULL');
      db.pragma('foreign_keys = ON');
      migrate(db);
    } else {
      // Reading the schema finds a file that is not a database now rather than at the first query.
      db.pragma('user_version');
    }
    return db;
  } catch (err) {
    db?.close();
    throw explainOpenError(err, file);
  }
}

/** An in-memory database with the same schema, for tests of the SQLite-backed stores. */
export function openMemoryDatabase(): SqliteDatabase {
  const db = new Database(':memory:');
  migrate(db);
  return db;
}
