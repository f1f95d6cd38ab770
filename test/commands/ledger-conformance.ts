// The one conformance suite every CommandLedger implementation runs (memory and SQLite).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { CommandLedger } from '../../src/commands/ledger.js';
import type { CommandResult } from '../../src/commands/result.js';

function result(id: string, status: 'ok' | 'error' = 'ok', finishedAt = 2000): CommandResult {
  return {
    id,
    command: 'unlock',
    status,
    ...(status === 'error' ? { code: 'offline' as const } : {}),
    message: status,
    source: 'local',
    kind: 'gate',
    device: 'g1',
    timing: { received_at: 1000, finished_at: finishedAt, total_ms: finishedAt - 1000 },
  };
}

const input = { command: 'unlock', source: 'local', client_id: 'c1', username: 'guard' };

export function ledgerConformance(name: string, create: () => CommandLedger): void {
  describe(`CommandLedger conformance: ${name}`, () => {
    it('claims a new id once; the second claim returns the first record', () => {
      const ledger = create();
      assert.equal(ledger.claim('gate/g1', 'a', 1000, input), undefined);
      const again = ledger.claim('gate/g1', 'a', 1500, { ...input, client_id: 'other' });
      assert.ok(again);
      assert.equal(again.createdAt, 1000);
      assert.deepEqual(again.input, input);
      assert.equal(again.result, undefined);
    });

    it('scopes ids per device', () => {
      const ledger = create();
      assert.equal(ledger.claim('gate/g1', 'a', 1000, input), undefined);
      assert.equal(ledger.claim('gate/g2', 'a', 1000, input), undefined);
    });

    it('stores the result and returns it with later claims', () => {
      const ledger = create();
      ledger.claim('gate/g1', 'a', 1000, input);
      ledger.complete('gate/g1', 'a', result('a', 'error'));
      assert.deepEqual(ledger.claim('gate/g1', 'a', 3000, input)?.result, result('a', 'error'));
      assert.deepEqual(ledger.get('gate/g1', 'a')?.result, result('a', 'error'));
    });

    it('returns copies: mutating a returned record changes nothing stored', () => {
      const ledger = create();
      ledger.claim('gate/g1', 'a', 1000, input);
      ledger.complete('gate/g1', 'a', result('a'));
      const record = ledger.get('gate/g1', 'a')!;
      record.result!.status = 'error';
      assert.equal(ledger.get('gate/g1', 'a')?.result?.status, 'ok');
    });

    it('lists claimed ids without a result as unfinished', () => {
      const ledger = create();
      ledger.claim('gate/g1', 'a', 1000, input);
      ledger.claim('gate/g1', 'b', 1001, input);
      ledger.complete('gate/g1', 'a', result('a'));
      assert.deepEqual(ledger.unfinished().map((r) => r.id), ['b']);
    });

    it('prunes ids claimed before the cut-off and only those', () => {
      const ledger = create();
      ledger.claim('gate/g1', 'old', 1000, input);
      ledger.claim('gate/g1', 'new', 5000, input);
      assert.equal(ledger.prune(2000), 1);
      assert.equal(ledger.get('gate/g1', 'old'), undefined);
      assert.ok(ledger.get('gate/g1', 'new'));
      assert.equal(ledger.claim('gate/g1', 'old', 6000, input), undefined, 'a forgotten id is new again');
    });

    it('keeps an id claimed exactly at the cut-off (only older ones go)', () => {
      const ledger = create();
      ledger.claim('gate/g1', 'edge', 2000, input);
      assert.equal(ledger.prune(2000), 0);
      assert.ok(ledger.get('gate/g1', 'edge'));
    });

    it('returns undefined for an id never seen, and a result for an unclaimed id records nothing', () => {
      const ledger = create();
      assert.equal(ledger.get('gate/g1', 'nope'), undefined);
      ledger.complete('gate/g1', 'nope', result('nope'));
      assert.equal(ledger.get('gate/g1', 'nope'), undefined);
      assert.equal(ledger.claim('gate/g1', 'nope', 3000, input), undefined, 'still a new id');
    });
  });
}
