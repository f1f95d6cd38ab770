// How long one group commit holds the event loop: the gateway's own stores (ledger claim, ledger
// completion, journal row) on its own database settings (WAL, synchronous=FULL) in a fresh data dir,
// batches of --batch commands per event-loop turn as with that many in flight. Each flush is timed
// around GroupCommit.flush(); the same batches with synchronous=OFF (no fsync) show the CPU part.
// The gap between the two is the fsync the loop waits for. A third run is what the gateway does
// (src/store/gateway-store.ts): synchronous=NORMAL (WAL frames written, no fsync at COMMIT) and one
// fdatasync of the -wal file in libuv's thread pool before the batch's promises resolve: the loop is
// held for the CPU part only, and the batch is on disk when that sync returns.
//
// usage: node --import tsx test/bench/commit-block.ts [--batch N] [--commits N] [--data-parent DIR]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { openDatabase } from '../../src/store/database.js';
import { GroupCommit } from '../../src/store/group-commit.js';
import { PooledSync } from '../../src/store/pooled-sync.js';
import { SqliteJournal } from '../../src/store/sqlite-journal.js';
import { SqliteLedger } from '../../src/store/sqlite-ledger.js';
import { WalSync } from '../../src/store/wal-sync.js';
import { summarize } from './stats.js';

const { values: args } = parseArgs({
  options: { batch: { type: 'string', default: '25' }, commits: { type: 'string', default: '400' }, 'data-parent': { type: 'string', default: tmpdir() } },
});
const BATCH = Number(args.batch);
const COMMITS = Number(args.commits);

async function measure(synchronous: 'FULL' | 'OFF' | 'NORMAL+fsync', durable?: number[]): Promise<number[]> {
  const dir = mkdtempSync(join(String(args['data-parent']), 'gatehouse-commit-block-'));
  const db = openDatabase(dir);
  const wal = synchronous === 'NORMAL+fsync' ? WalSync.open(db) : undefined;
  try {
    if (!wal) db.pragma(`synchronous = ${synchronous}`);
    const ledger = new SqliteLedger(db);
    const journal = new SqliteJournal(db);
    const commits = new GroupCommit(db, wal ? { sync: new PooledSync(() => wal.sync()) } : {});
    let last: Promise<unknown> = Promise.resolve();
    const blocked: number[] = [];
    let n = 0;
    for (let c = 0; c < COMMITS; c++) {
      // Half the batch are claims of new commands, half the completions and journal rows of earlier ones.
      for (let i = 0; i < BATCH; i++) {
        const id = `cmd-${n++}`;
        const at = Date.now();
        void commits.run(() => ledger.claim('gate/g01', id, at, { command: 'unlock', source: 'local', client_id: 'bench-client', username: 'bench' }));
        last = commits.run(() => {
          const result = { id, command: 'unlock', status: 'ok' as const, message: 'unlock done', source: 'local' as const, kind: 'gate', device: 'g01', data: {}, timing: { received_at: at, finished_at: at + 2, total_ms: 2 } };
          ledger.complete('gate/g01', id, result);
          journal.append({ at, type: 'command', kind: 'gate', device: 'g01', command: 'unlock', command_id: id, source: 'local', client_id: 'bench-client', username: 'bench', peer: '127.0.0.1:5000', payload: `{"id":"${id}","duration_ms":200}`, status: 'ok', message: 'unlock done', latency_ms: 2, duplicate: false });
        });
      }
      const startedAt = performance.now();
      commits.flush();
      blocked.push(performance.now() - startedAt);
      if (wal) {
        await last;
        durable?.push(performance.now() - startedAt);
      }
    }
    return blocked;
  } finally {
    wal?.close();
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const fmt = (label: string, xs: number[]) => {
  const s = summarize(xs);
  const sorted = [...xs].sort((a, b) => a - b);
  const p90 = sorted[Math.ceil(0.9 * sorted.length) - 1];
  return `${label.padEnd(28)} n ${s.n}  p50 ${s.p50.toFixed(3)}  p90 ${p90.toFixed(3)}  p99 ${s.p99.toFixed(3)}  max ${s.max.toFixed(3)}  mean ${s.mean.toFixed(3)} ms`;
};
const full = await measure('FULL');
const off = await measure('OFF');
const durable: number[] = [];
const normal = await measure('NORMAL+fsync', durable);
const full2 = await measure('FULL');
process.stdout.write(
  [
    `group commit of ${BATCH} claims + ${BATCH} completions with journal rows, in ${args['data-parent']}: time the event loop is held per flush`,
    fmt('synchronous=FULL (as run)', full),
    fmt('synchronous=OFF (no fsync)', off),
    fmt('NORMAL, fsync in the pool', normal),
    fmt('  ... until on disk', durable),
    fmt('synchronous=FULL again', full2),
    `fsync share of the mean: ${((1 - summarize(off).mean / summarize([...full, ...full2]).mean) * 100).toFixed(0)}%`,
  ].join('\n') + '\n',
);
