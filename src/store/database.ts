import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { migrate } from './migrations.js';

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
  if (!opts.readonly) mkdirSync(dirname(file), { recursive: true });
  const db = new Database(file, { readonly: opts.readonly ?? false, fileMustExist: opts.readonly ?? false });
  db.pragma('busy_timeout = 5000');
  if (!opts.readonly) {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.pragma('foreign_keys = ON');
    migrate(db);
  }
  return db;
}

/** An in-memory database with the same schema, for tests of the SQLite-backed stores. */
export function openMemoryDatabase(): SqliteDatabase {
  const db = new Database(':memory:');
  migrate(db);
  return db;
}
