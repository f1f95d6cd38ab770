// SqliteJournal beyond the shared conformance suite (test/commands/stores.test.ts): the migration
// that added device events keeps the entries of an older database, and a reader sees the newest seq.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { openDatabase, openMemoryDatabase } from '../../src/store/database.js';
import { SCHEMA_VERSION } from '../../src/store/migrations.js';
import { SqliteJournal } from '../../src/store/sqlite-journal.js';

const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

describe('SqliteJournal', () => {
  it('a database from before device events keeps its entries and takes events after the upgrade', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gatehouse-journal-'));
    dirs.push(dir);
    // What a gatehouse of schema 2 left behind: no event column (migration 3), no broker state (4).
    const old = openDatabase(dir);
    old.exec('ALTER TABLE journal DROP COLUMN event');
    const brokerTables = old.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'broker\\_%' ESCAPE '\\'").pluck().all() as string[];
    for (const table of brokerTables) old.exec(`DROP TABLE ${table}`);
    old.pragma('user_version = 2');
    old.prepare("INSERT INTO journal (at, type, kind, device, command, command_id, status) VALUES (1, 'command', 'gate', 'g1', 'unlock', 'before', 'ok')").run();
    old.close();

    const db = openDatabase(dir);
    assert.equal(db.pragma('user_version', { simple: true }), SCHEMA_VERSION);
    const journal = new SqliteJournal(db);
    journal.append({ at: 2, type: 'event', kind: 'gate', device: 'g1', event: 'door_forced' });
    assert.deepEqual(
      journal.query({}).map(({ seq: _seq, ...e }) => e),
      [
        { at: 1, type: 'command', kind: 'gate', device: 'g1', command: 'unlock', command_id: 'before', status: 'ok' },
        { at: 2, type: 'event', kind: 'gate', device: 'g1', event: 'door_forced' },
      ],
    );
    db.close();
  });

  it('latestSeq is the newest entry\'s seq (0 when empty); eventNames lists the events held', () => {
    const journal = new SqliteJournal(openMemoryDatabase());
    assert.equal(journal.latestSeq(), 0);
    assert.deepEqual(journal.eventNames(), []);
    journal.append({ at: 1, type: 'event', kind: 'turnstile', device: 't', event: 'passage' });
    journal.append({ at: 2, type: 'command', kind: 'gate', device: 'g', command: 'unlock' });
    journal.append({ at: 3, type: 'event', kind: 'gate', device: 'g', event: 'door_forced' });
    journal.append({ at: 4, type: 'event', kind: 'turnstile', device: 't', event: 'passage' });
    assert.equal(journal.latestSeq(), journal.query({}).at(-1)?.seq);
    assert.deepEqual(journal.eventNames(), ['door_forced', 'passage']);
  });
});
