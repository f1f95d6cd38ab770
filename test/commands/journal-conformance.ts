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

    it('since and until include an entry exactly at the bound', () => {
      const journal = create();
      for (const at of [10, 20, 30]) journal.append(entry(at));
      assert.deepEqual(journal.query({ since: 20 }).map((r) => r.at), [20, 30]);
      assert.deepEqual(journal.query({ until: 20 }).map((r) => r.at), [10, 20]);
      assert.deepEqual(journal.query({ since: 20, until: 20 }).map((r) => r.at), [20]);
    });

    it('filters by username', () => {
      const journal = create();
      journal.append(entry(1, { username: 'guard' }));
      journal.append(entry(2, { username: 'tech' }));
      journal.append({ at: 3, type: 'auth_failed', peer: '127.0.0.1:1', message: 'bad password' });
      assert.deepEqual(journal.query({ username: 'tech' }).map((r) => r.at), [2]);
      assert.deepEqual(journal.query({ username: 'nobody' }), []);
    });

    it('an event name matches device events only, not another entry carrying the same name', () => {
      const journal = create();
      journal.append(entry(1, { event: 'door_forced' }));
      journal.append({ at: 2, type: 'event', kind: 'gate', device: 'g1', event: 'door_forced' });
      assert.deepEqual(journal.query({ event: 'door_forced' }).map((r) => r.at), [2]);
    });

    it('limit keeps the newest entries, still oldest first', () => {
      const journal = create();
      for (let at = 1; at <= 5; at++) journal.append(entry(at));
      assert.deepEqual(journal.query({ limit: 2 }).map((r) => r.at), [4, 5]);
    });

    it('keeps device events with their name and fields, and finds them by name', () => {
      const journal = create();
      journal.append({ at: 1, type: 'event', kind: 'gate', device: 'g1', event: 'door_forced' });
      journal.append({ at: 2, type: 'event', kind: 'turnstile', device: 't1', event: 'passage', payload: '{"direction":"in","count":1,"total":7}' });
      journal.append(entry(3));
      const [forced] = journal.query({ event: 'door_forced' });
      assert.deepEqual({ ...forced, seq: 0 }, { seq: 0, at: 1, type: 'event', kind: 'gate', device: 'g1', event: 'door_forced' });
      assert.deepEqual(journal.query({ type: 'event' }).map((r) => r.event), ['door_forced', 'passage']);
      assert.deepEqual(journal.query({ event: 'passage', device: 't1' }).map((r) => r.payload), ['{"direction":"in","count":1,"total":7}']);
      assert.deepEqual(journal.query({ event: 'unlock' }), [], 'a command name is not an event');
    });

    it('after: only entries appended after a seq (a follower\'s cursor)', () => {
      const journal = create();
      for (let at = 1; at <= 4; at++) journal.append(entry(at));
      const [, second] = journal.query({});
      assert.deepEqual(journal.query({ after: second.seq }).map((r) => r.at), [3, 4]);
      assert.deepEqual(journal.query({ after: second.seq, until: 3 }).map((r) => r.at), [3]);
    });

    it('before: only entries appended before a seq (a pager\'s cursor), with limit the newest of those', () => {
      const journal = create();
      for (let at = 1; at <= 5; at++) journal.append(entry(at));
      const records = journal.query({});
      assert.deepEqual(journal.query({ before: records[3].seq }).map((r) => r.at), [1, 2, 3]);
      assert.deepEqual(journal.query({ before: records[3].seq, limit: 2 }).map((r) => r.at), [2, 3]);
      assert.deepEqual(journal.query({ before: records[0].seq }), []);
    });

    it('a returned record is a copy: changing it changes nothing stored', () => {
      const journal = create();
      journal.append(entry(1));
      const [record] = journal.query({});
      record.device = 'changed';
      assert.equal(journal.query({})[0].device, 'g1');
    });

    it('prunes entries older than the cut-off', () => {
      const journal = create();
      journal.append(entry(1));
      journal.append(entry(100));
      journal.append(entry(20));
      assert.equal(journal.prune({ before: 50, maxRows: 1000 }), 2);
      assert.deepEqual(journal.query({}).map((r) => r.at), [100]);
    });

    it('keeps an entry dated exactly at the cut-off, and pruning an empty journal removes nothing', () => {
      const journal = create();
      assert.equal(journal.prune({ before: 50, maxRows: 1000 }), 0);
      journal.append(entry(49));
      journal.append(entry(50));
      assert.equal(journal.prune({ before: 50, maxRows: 1000 }), 1);
      assert.deepEqual(journal.query({}).map((r) => r.at), [50]);
    });

    it('keeps only the newest maxRows entries', () => {
      const journal = create();
      for (let at = 1; at <= 10; at++) journal.append(entry(at));
      assert.equal(journal.prune({ before: 0, maxRows: 3 }), 7);
      assert.deepEqual(journal.query({}).map((r) => r.at), [8, 9, 10]);
      assert.equal(journal.prune({ before: 0, maxRows: 3 }), 0, 'nothing more to do');
    });

    it('prunes in batches of at most `batch`, oldest first, until a short batch says it is done', () => {
      const journal = create();
      for (let at = 1; at <= 10; at++) journal.append(entry(at));
      const limits = { before: 3, maxRows: 5 };
      const batches: number[] = [];
      for (;;) {
        const removed = journal.prune(limits, 2);
        batches.push(removed);
        if (removed < 2) break;
      }
      assert.deepEqual(batches, [2, 2, 1]);
      assert.deepEqual(journal.query({}).map((r) => r.at), [6, 7, 8, 9, 10]);
      assert.equal(journal.prune({ before: 8, maxRows: 5 }, 1), 1);
      assert.deepEqual(journal.query({}).map((r) => r.at), [7, 8, 9, 10], 'the age limit removes the oldest first too');
    });
  });
}
