// What only the SQLite outbox can show: it survives closing and reopening (a restart or kill -9),
// and a full disk or a locked database is counted and logged, never thrown at the gateway.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { databasePath, openDatabase, type SqliteDatabase } from '../../src/store/database.js';
import { readOutboxStats, SqliteOutbox } from '../../src/store/sqlite-outbox.js';
import { OutboxWriter } from '../../src/uplink/outbox-writer.js';
import { msg } from './outbox-conformance.js';

const LIMITS = { maxMessages: 10_000, maxBytes: 10_000_000 };
const dirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-outbox-'));
  dirs.push(dir);
  return dir;
}
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

const texts = (rows: { topic: string; payload: Buffer }[]) => rows.map((r) => `${r.topic}=${r.payload.toString()}`);

function recordingLog() {
  const errors: { obj: Record<string, unknown>; msg?: string }[] = [];
  return {
    errors,
    error: (obj: object, msg?: string) => void errors.push({ obj: obj as Record<string, unknown>, msg }),
    warn: () => undefined,
  };
}

function fillUntilFull(db: SqliteDatabase): void {
  // SQLite refuses to grow the file beyond max_page_count: SQLITE_FULL, exactly as on a full disk.
  const pages = db.pragma('page_count', { simple: true }) as number;
  db.pragma(`max_page_count = ${pages}`);
}

describe('SqliteOutbox on a file', () => {
  it('keeps rows, order and in-flight rows across a close without acknowledgements (a crash)', () => {
    const dir = tempDir();
    const db = openDatabase(dir);
    const first = new SqliteOutbox(db, { limits: LIMITS });
    first.append([msg('ev', '1'), msg('st', 'a', 'retained'), msg('ev', '2'), msg('res', 'r', 'result')]);
    const inFlight = first.take(2);
    assert.deepEqual(texts(inFlight), ['st=a', 'ev=1']);
    first.ack([inFlight[0].seq]);
    db.close();

    const second = new SqliteOutbox(openDatabase(dir), { limits: LIMITS });
    assert.deepEqual(texts(second.take(10)), ['ev=1', 'ev=2', 'res=r'], 'the unacknowledged in-flight row is pending again');
    assert.deepEqual(second.stats().byClass, { retained: 0, result: 1, security: 0, telemetry: 2 });
  });

  it('a retained value superseded while in flight is gone after a restart', () => {
    const dir = tempDir();
    const db = openDatabase(dir);
    const first = new SqliteOutbox(db, { limits: LIMITS });
    first.append([msg('st', 'v1', 'retained')]);
    first.take(1);
    first.append([msg('st', 'v2', 'retained')]);
    db.close();
    const second = new SqliteOutbox(openDatabase(dir), { limits: LIMITS });
    assert.deepEqual(texts(second.take(10)), ['st=v2']);
    assert.equal(second.stats().depth, 1);
  });

  it('keeps drop counts and the unannounced report across a restart', () => {
    const dir = tempDir();
    const db = openDatabase(dir);
    new SqliteOutbox(db, { limits: { maxMessages: 1, maxBytes: 1_000_000 } }).append([
      msg('ev', 'a', 'telemetry', 100),
      msg('ev', 'b', 'telemetry', 250),
      msg('ev', 'c', 'telemetry', 300),
    ]);
    db.close();
    const second = new SqliteOutbox(openDatabase(dir), { limits: { maxMessages: 1, maxBytes: 1_000_000 } });
    const report = second.overflow();
    assert.deepEqual(report, { total: 2, byClass: { retained: 0, result: 0, security: 0, telemetry: 2 }, firstAt: 100, lastAt: 250 });
    second.overflowReported(report!);
    assert.equal(second.overflow(), undefined);
    assert.equal(second.stats().dropped.telemetry, 2);
    const reader = openDatabase(dir, { readonly: true });
    assert.deepEqual(readOutboxStats(reader).unreported.telemetry, 0, 'the announcement is stored');
    reader.close();
  });

  it('a full disk: append throws SQLITE_FULL and the outbox stays consistent', () => {
    const db = openDatabase(tempDir());
    const outbox = new SqliteOutbox(db, { limits: LIMITS });
    outbox.append([msg('ev', 'before')]);
    fillUntilFull(db);
    const big = Array.from({ length: 200 }, (_, i) => msg('ev', `x${i}`.repeat(100)));
    assert.throws(() => outbox.append(big), (err: { code?: string }) => err.code === 'SQLITE_FULL');
    assert.equal(outbox.stats().depth, 1, 'the failed transaction left nothing behind');
    assert.equal(readOutboxStats(db).depth, 1);
    db.pragma('max_page_count = 1073741823');
    outbox.append([msg('ev', 'after')]);
    assert.deepEqual(texts(outbox.take(10)), ['ev=before', 'ev=after']);
  });

  it('the writer logs and counts what a full disk or a locked database refused, and never throws', async () => {
    const dir = tempDir();
    const db = openDatabase(dir);
    const outbox = new SqliteOutbox(db, { limits: LIMITS });
    const log = recordingLog();
    let commits = 0;
    const writer = new OutboxWriter(outbox, log, { onCommitted: () => commits++, errorLogIntervalMs: 0 });

    fillUntilFull(db);
    for (let i = 0; i < 200; i++) writer.enqueue(msg('ev', `full-${i}`.repeat(50)));
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(writer.stats().unstored, 200);
    assert.equal(log.errors[0].obj.code, 'SQLITE_FULL');
    assert.match(log.errors[0].msg ?? '', /outbox write failed/);
    db.pragma('max_page_count = 1073741823');

    // Another process holds the write lock past the busy timeout.
    db.pragma('busy_timeout = 20');
    const other = new Database(databasePath(dir));
    other.exec('BEGIN EXCLUSIVE');
    writer.enqueue(msg('ev', 'locked'));
    writer.flush();
    other.exec('ROLLBACK');
    other.close();
    assert.equal(writer.stats().unstored, 201);
    assert.match(String(log.errors[1].obj.code), /^SQLITE_BUSY/);

    writer.enqueue(msg('ev', 'fine'));
    writer.flush();
    assert.equal(commits, 1);
    assert.deepEqual(texts(outbox.take(10)), ['ev=fine']);
    assert.equal(writer.takeUnstored(), 201, 'handed to the next outbox_overflow event');
    assert.equal(writer.takeUnstored(), 0);
  });
});
