import type { SqliteDatabase } from './database.js';

export type WriteProbeResult = { ok: true } | { ok: false; code: string; message: string };

/**
 * A real write into the gateway's database: one gateway_meta row updated in an IMMEDIATE
 * transaction (it takes the write lock at BEGIN) and committed, so a locked, read-only or full
 * database fails here as it would for a command's journal entry. better-sqlite3 is synchronous,
 * so the connection's busy timeout is lowered for the probe: while another process holds the
 * write lock the probe blocks the event loop for at most `busyTimeoutMs`, not the gateway's 5 s.
 */
export function probeWritable(db: SqliteDatabase, busyTimeoutMs: number): WriteProbeResult {
  let previous: number | undefined;
  try {
    previous = db.pragma('busy_timeout', { simple: true }) as number;
    db.pragma(`busy_timeout = ${Math.max(0, Math.floor(busyTimeoutMs))}`);
    const write = db.prepare("INSERT INTO gateway_meta (key, value) VALUES ('health_probe', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value");
    db.transaction(() => write.run(String(Date.now()))).immediate();
    return { ok: true };
  } catch (err) {
    const code = String((err as { code?: unknown }).code ?? 'STORE_ERROR');
    return { ok: false, code, message: err instanceof Error ? err.message : String(err) };
  } finally {
    if (previous !== undefined) {
      try {
        db.pragma(`busy_timeout = ${previous}`);
      } catch {
        // the connection is closed; nothing to restore
      }
    }
  }
}
