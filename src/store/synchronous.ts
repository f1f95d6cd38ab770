import type { SqliteDatabase } from './database.js';

/** PRAGMA synchronous levels as SQLite numbers them. */
export const SYNCHRONOUS = { OFF: 0, NORMAL: 1, FULL: 2, EXTRA: 3 } as const;

export function synchronousLevel(db: SqliteDatabase): number {
  return db.pragma('synchronous', { simple: true }) as number;
}

/**
 * Runs `body` with the connection at `level`, then puts back `restore` (the connection's own level).
 * The pragma is issued afresh each time: SQLite applies `PRAGMA synchronous = N` while preparing
 * it, so a prepared statement run again changes nothing.
 */
export function withSynchronous<T>(db: SqliteDatabase, level: number, restore: number, body: () => T): T {
  if (level === restore) return body();
  db.pragma(`synchronous = ${level}`);
  try {
    return body();
  } finally {
    db.pragma(`synchronous = ${restore}`);
  }
}
