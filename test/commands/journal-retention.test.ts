// The journal's bounds (journal.retention_days, journal.max_rows) against a real SQLite database:
// pruned by age and by rows, in batches spread over event-loop turns, so a command issued during a
// big prune is answered while the prune goes on.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { Commit } from '../../src/commands/commit.js';
import type { JournalEntry } from '../../src/commands/journal.js';
import { JournalRetention } from '../../src/commands/journal-retention.js';
import { MemoryLedger } from '../../src/commands/ledger.js';
import { CommandPipeline, type CommandTarget } from '../../src/commands/pipeline.js';
import { gateKind } from '../../src/devices/kinds/gate.js';
import { openDatabase, type SqliteDatabase } from '../../src/store/database.js';
import { GroupCommit } from '../../src/store/group-commit.js';
import { SqliteJournal } from '../../src/store/sqlite-journal.js';

const DAY_MS = 86_400_000;
const NOW = Date.UTC(2026, 10, 23, 12);
const silent = { info() {}, warn() {}, debug() {} };

const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** A file database like the gateway's (WAL, synchronous=FULL), its journal and group commit. */
function store(): { db: SqliteDatabase; journal: SqliteJournal; commits: GroupCommit } {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-retention-'));
  dirs.push(dir);
  const db = openDatabase(dir);
  return { db, journal: new SqliteJournal(db), commits: new GroupCommit(db) };
}

function fill(db: SqliteDatabase, journal: SqliteJournal, count: number, at: (i: number) => number): void {
  db.transaction(() => {
    for (let i = 0; i < count; i++) {
      const entry: JournalEntry = { at: at(i), type: 'event', kind: 'turnstile', device: 'lobby', event: 'passage', payload: `{"direction":"in","count":1,"total":${i}}` };
      journal.append(entry);
    }
  })();
}

function count(db: SqliteDatabase): number {
  return (db.prepare('SELECT COUNT(*) AS n FROM journal').get() as { n: number }).n;
}

function retention(s: ReturnType<typeof store>, settings: { retention_days: number; max_rows: number }, batchRows = 1000) {
  const logged: object[] = [];
  const messages: (string | undefined)[] = [];
  const batches = { count: 0 };
  const log = (o: object, msg?: string) => (logged.push(o), messages.push(msg));
  const commit: Commit = (write) => (batches.count++, s.commits.run(write));
  const r = new JournalRetention({ journal: s.journal, commit, settings: () => settings, log: { info: log, warn: log }, now: () => NOW, batchRows });
  return { retention: r, logged, messages, batches };
}

class InstantGate implements CommandTarget {
  readonly kind = gateKind;
  readonly availability = 'online' as const;
  readonly config = { command_timeout_ms: 5000 };
  constructor(readonly id: string) {}
  parseArgs() {
    return { values: {}, problems: [] };
  }
  async execute() {
    return { locked: true };
  }
}

describe('journal retention', () => {
  it('keeps the newest max_rows entries', async () => {
    const s = store();
    fill(s.db, s.journal, 5500, (i) => NOW - 1000 + i);
    const { retention: r, logged, messages, batches } = retention(s, { retention_days: 90, max_rows: 2000 });
    assert.equal(await r.prune(), 3500);
    assert.equal(batches.count, 4, 'batches of batchRows (1000): 1000, 1000, 1000, 500');
    assert.deepEqual(messages, ['journal pruned']);
    assert.equal(count(s.db), 2000);
    const kept = s.journal.query({});
    assert.equal(kept[0].payload, '{"direction":"in","count":1,"total":3500}', 'the oldest went first');
    assert.equal(kept.at(-1)?.payload, '{"direction":"in","count":1,"total":5499}');
    assert.deepEqual(logged, [{ journal_entries: 3500, retention_days: 90, max_rows: 2000 }]);
    assert.equal(await r.prune(), 0, 'a second prune finds nothing to do');
    assert.equal(logged.length, 1, 'and says nothing');
    s.db.close();
  });

  it('removes entries older than retention_days', async () => {
    const s = store();
    // One entry per hour over the last 10 days.
    fill(s.db, s.journal, 240, (i) => NOW - (240 - i) * 3_600_000);
    const { retention: r } = retention(s, { retention_days: 3, max_rows: 1_000_000 }, 50);
    assert.equal(await r.prune(), 240 - 72);
    const kept = s.journal.query({});
    assert.equal(kept.length, 72);
    assert.ok(kept.every((e) => e.at >= NOW - 3 * DAY_MS));
    s.db.close();
  });

  it('reads the settings at each prune (a reloaded max_rows applies at the next one)', async () => {
    const s = store();
    fill(s.db, s.journal, 300, (i) => NOW - i);
    const settings = { retention_days: 90, max_rows: 250 };
    const r = new JournalRetention({ journal: s.journal, commit: s.commits.run, settings: () => settings, log: silent, now: () => NOW, batchRows: 100 });
    assert.equal(await r.prune(), 50);
    settings.max_rows = 100;
    assert.equal(await r.prune(), 150);
    assert.equal(count(s.db), 100);
    s.db.close();
  });

  it('a command issued during a big prune gets its result, and the prune goes on to the end', async () => {
    const s = store();
    fill(s.db, s.journal, 100_000, (i) => NOW - DAY_MS + i);
    const pipeline = new CommandPipeline({
      findDevice: (kind, id) => (kind === 'gate' && id === 'g1' ? new InstantGate('g1') : undefined),
      describeDevice: () => undefined,
      ledger: new MemoryLedger(),
      journal: s.journal,
      commit: s.commits.run,
      publishResult: () => undefined,
      policy: { maxAgeMs: 30_000, clockSkewMs: 2000, queueLimit: 16 },
      log: silent,
    });
    const { retention: r } = retention(s, { retention_days: 90, max_rows: 1000 }, 1000);
    let pruneDone = false;
    const pruning = r.prune().then((removed) => ((pruneDone = true), removed));

    const result = await pipeline.submit({ kind: 'gate', device: 'g1', command: 'lock', payload: new TextEncoder().encode('{"id":"during-prune"}'), source: 'local', authorized: true });
    assert.equal(result.status, 'ok');
    assert.equal(pruneDone, false, 'the command did not wait for the whole prune');

    // 99,000 entries beyond max_rows, plus those the command's entry pushed out.
    assert.ok((await pruning) >= 99_000);
    assert.equal(count(s.db), 1000);
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(s.journal.query({}).filter((e) => e.command_id === 'during-prune').length, 1, 'the command\'s own entry is kept');
    s.db.close();
  });

  it('stop ends a prune between two batches', async () => {
    const s = store();
    fill(s.db, s.journal, 20_000, (i) => NOW - i);
    const { retention: r } = retention(s, { retention_days: 90, max_rows: 10 }, 500);
    const pruning = r.prune();
    await r.stop();
    const removed = await pruning;
    assert.ok(removed < 20_000 - 10, `stopped early (${removed} removed)`);
    assert.equal(count(s.db), 20_000 - removed, 'no batch ran after stop');
    assert.equal(await r.prune(), 0, 'a stopped retention prunes no more');
    s.db.close();
  });

  it('a prune asked for while one runs runs once more after it, with the settings of then; several such asks share it', async () => {
    const s = store();
    fill(s.db, s.journal, 300, (i) => NOW - i);
    const settings = { retention_days: 90, max_rows: 250 };
    const r = new JournalRetention({ journal: s.journal, commit: s.commits.run, settings: () => settings, log: silent, now: () => NOW, batchRows: 100 });
    const first = r.prune();
    settings.max_rows = 100;
    const second = r.prune();
    const third = r.prune();
    assert.equal(second, third);
    assert.deepEqual(await Promise.all([first, second, third]), [50, 150, 150]);
    assert.equal(count(s.db), 100);
    s.db.close();
  });

  it('a prune that cannot write is logged, resolves with what it removed, and never rejects', async () => {
    const s = store();
    fill(s.db, s.journal, 10, (i) => NOW - i);
    s.db.close();
    const { retention: r, logged, messages } = retention(s, { retention_days: 90, max_rows: 1 });
    assert.equal(await r.prune(), 0);
    assert.equal(messages[0], 'could not prune the journal; the next housekeeping tries again');
    assert.equal((logged[0] as { removed: number }).removed, 0);
    assert.match((logged[0] as { err: string }).err, /database/i);
  });
});
