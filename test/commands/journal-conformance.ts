// The one conformance suite every Journal implementation runs (memory and SQLite).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Journal, JournalEntry } from '../../src/commands/journal.js';

const entry = (at: number, extra: Partial<JournalEntry> = {}): JournalEntry => ({
  at,
  type: 'command',
  kind: 'gate',
  device: 'g1',
  command: 'unlock',
  command_id: `id-${at}`,
  source: 'local',
  client_id: 'c1',
  username: 'guard',
  peer: '127.0.0.1:5000',
  payload: '{"duration_ms":1000}',
  status: 'ok',
  latency_ms: 12,
  ...extra,
});

export function journalConformance(name: string, create: () => Journal): void {
  describe(`Journal conformance: ${name}`, () => {
    it('returns what was appended, oldest first, with increasing seq', () => {
      const journal = create();
      journal.append(entry(1));
      journal.append(entry(2, { status: 'error', code: 'expired', message: 'too old', duplicate: true }));
      const records = journal.query({});
      assert.equal(records.length, 2);
      assert.ok(records[0].seq < records[1].seq);
      const { seq: _s0, ...first } = records[0];
      assert.deepEqual(first, entry(1));
      const { seq: _s1, ...second } = records[1];
      assert.deepEqual(second, entry(2, { status: 'error', code: 'expired', message: 'too old', duplicate: true }));
    });

    it('leaves absent fields absent', () => {
      const journal = create();
      journal.append({ at: 5, type: 'auth_failed', peer: '127.0.0.1:1', message: 'bad password' });
      const [record] = journal.query({});
      assert.deepEqual(Object.keys(record).sort(), ['at', 'message', 'peer', 'seq', 'type']);
    });

    it('filters by time, type and device', () => {
      const journal = create();
      journal.append(entry(10));
      journal.append(entry(20, { device: 'g2' }));
      journal.append({ at: 30, type: 'publish_denied', client_id: 'x', payload: 'site/a/gate/g1/state' });
      assert.deepEqual(journal.query({ since: 15 }).map((r) => r.at), [20, 30]);
      assert.deepEqual(journal.query({ until: 20 }).map((r) => r.at), [10, 20]);
      assert.deepEqual(journal.query({ type: 'publish_denied' }).map((r) => r.at), [30]);
      assert.deepEqual(journal.query({ device: 'g2' }).map((r) => r.at), [20]);
    });

    it('limit keeps the newest entries, still oldest first', () => {
      const journal = create();
      for (let at = 1; at <= 5; at++) journal.append(entry(at));
      assert.deepEqual(journal.query({ limit: 2 }).map((r) => r.at), [4, 5]);
    });

    it('prunes entries older than the cut-off', () => {
      const journal = create();
      journal.append(entry(1));
      journal.append(entry(100));
      assert.equal(journal.prune(50), 1);
      assert.deepEqual(journal.query({}).map((r) => r.at), [100]);
    });
  });
}
