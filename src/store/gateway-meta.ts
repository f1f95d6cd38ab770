import type { SqliteDatabase } from './database.js';

/** Counts gateway starts, so consumers can tell a new session from a stale one. */
export function nextSession(db: SqliteDatabase): number {
  return db.transaction(() => {
    const row = db.prepare<[], { value: string }>("SELECT value FROM gateway_meta WHERE key = 'session'").get();
    const session = (row ? Number(row.value) : 0) + 1;
    db.prepare("INSERT INTO gateway_meta (key, value) VALUES ('session', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value").run(String(session));
    return session;
  })();
}
