import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { migrate } from './migrations.js';
import { assertWritable, explainOpenError } from './store-error.js';

export type SqliteDatabase = Database.Database;

export const DATABASE_FILE = 'gatehouse.db';

export function databasePath(dataDir: string): string {
  return join(dataDir, DATABASE_FILE);
}

/**
 * Open the gateway's one database: WAL so readers (the CLI) never block the gateway, and
 * synchronous=FULL so a command id remembered for de-duplication survives power loss.
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
