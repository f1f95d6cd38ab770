// Device events as journal entries: name, device, kind, time and fields, written through the same
// commit as commands; a failed write is logged, never thrown at the device that reported the event.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { eventJournalEntry, eventRecorder } from '../../src/commands/event-journal.js';
import { MemoryJournal } from '../../src/commands/journal.js';
import type { Commit } from '../../src/commands/commit.js';
import { openMemoryDatabase } from '../../src/store/database.js';
import { GroupCommit } from '../../src/store/group-commit.js';
import { SqliteJournal } from '../../src/store/sqlite-journal.js';

describe('device events in the journal', () => {
  it('an event becomes an entry of type event with its name, device, kind, time and fields', () => {
    assert.deepEqual(eventJournalEntry({ kind: 'gate', device: 'main-gate', type: 'door_held_open', at: 1234, details: { open_ms: 30_012 } }), {
      at: 1234,
      type: 'event',
      kind: 'gate',
      device: 'main-gate',
      event: 'door_held_open',
      payload: '{"open_ms":30012}',
    });
    assert.deepEqual(eventJournalEntry({ kind: 'gate', device: 'main-gate', type: 'door_forced', at: 5, details: {} }), {
      at: 5,
      type: 'event',
      kind: 'gate',
      device: 'main-gate',
      event: 'door_forced',
    }, 'an event without fields has no payload');
  });

  it('long fields are clipped like command payloads, saying how long they were', () => {
    const entry = eventJournalEntry({ kind: 'gate', device: 'g', type: 'line', at: 1, details: { text: 'x'.repeat(10_000) } });
    assert.match(entry.payload ?? '', /…\(10011 bytes\)$/);
  });

  it('records through the group commit into SQLite, readable by name', async () => {
    const db = openMemoryDatabase();
    const journal = new SqliteJournal(db);
    const record = eventRecorder({ journal, commit: new GroupCommit(db).run, log: { warn: () => assert.fail('no warning expected') } });
    record({ kind: 'turnstile', device: 'lobby', type: 'passage', at: 10, details: { direction: 'in', count: 1, total: 42 } });
    record({ kind: 'camera', device: 'cam', type: 'snapshot', at: 11, details: { bytes: 2048, at: 11, file: 'cam/11.jpg' } });
    await new Promise((resolve) => setImmediate(resolve));
    const [passage] = journal.query({ event: 'passage' });
    assert.equal(passage.device, 'lobby');
    assert.deepEqual(JSON.parse(passage.payload ?? ''), { direction: 'in', count: 1, total: 42 });
    assert.deepEqual(journal.query({ type: 'event' }).map((e) => e.event), ['passage', 'snapshot']);
    db.close();
  });

  it('a write that fails is logged with the device and event, and does not throw', async () => {
    const warnings: [object, string | undefined][] = [];
    const failing: Commit = async () => {
      throw new Error('disk I/O error');
    };
    const record = eventRecorder({ journal: new MemoryJournal(), commit: failing, log: { warn: (obj, msg) => warnings.push([obj, msg]) } });
    assert.doesNotThrow(() => record({ kind: 'gate', device: 'g1', type: 'door_forced', at: 1, details: {} }));
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(warnings, [[{ err: 'Error: disk I/O error', device: 'g1', event: 'door_forced' }, 'could not journal a device event']]);
  });
});
