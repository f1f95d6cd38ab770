// How much disk the audit journal takes: writes realistic command and device-event entries into a
// gateway database (openDatabase: WAL, synchronous=FULL, the real schema and indexes, group-commit
// sized transactions), checkpoints it, and divides the growth of the file by the entries written.
// Then the figure for a busy site, and the size at the default journal.max_rows.
//   node --import tsx test/bench/journal-size.ts [--rows N] [--commands-per-day N] [--events-per-day N] [--json]
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { eventJournalEntry } from '../../src/commands/event-journal.js';
import type { JournalEntry } from '../../src/commands/journal.js';
import { databasePath, openDatabase } from '../../src/store/database.js';
import { SqliteJournal } from '../../src/store/sqlite-journal.js';

const { values } = parseArgs({
  options: { rows: { type: 'string' }, 'commands-per-day': { type: 'string' }, 'events-per-day': { type: 'string' }, json: { type: 'boolean' } },
});
const ROWS = Number(values.rows ?? 100_000);
const COMMANDS_PER_DAY = Number(values['commands-per-day'] ?? 5000);
const EVENTS_PER_DAY = Number(values['events-per-day'] ?? 20_000);
const DEFAULT_MAX_ROWS = 1_000_000;
/** Entries per transaction: about what group commit gathers on a busy gateway. */
const BATCH = 50;

/** A deterministic pseudo-random sequence, so two runs write the same entries. */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}
const rnd = random(42);
const pick = <T>(items: readonly [T, number][]): T => {
  let x = rnd();
  for (const [item, weight] of items) if ((x -= weight) < 0) return item;
  return items[items.length - 1][0];
};
const port = () => 30_000 + Math.floor(rnd() * 30_000);

/** A command entry as the pipeline writes it: a gate unlock, a turnstile pass or a snapshot, from a local app, the cloud or a link. */
function commandEntry(at: number): JournalEntry {
  const what = pick([['gate', 0.7], ['turnstile', 0.2], ['camera', 0.1]] as const);
  const source = pick([['local', 0.8], ['cloud', 0.15], ['link', 0.05]] as const);
  const id = source === 'link' ? `link-${randomUUID()}` : randomUUID();
  const device = what === 'gate' ? pick([['main-gate', 0.5], ['garage-gate', 0.3], ['side-door', 0.2]] as const) : what === 'turnstile' ? 'lobby-turnstile' : 'lobby-cam';
  const command = what === 'gate' ? 'unlock' : what === 'turnstile' ? 'pass' : 'snapshot';
  const args = what === 'gate' ? { duration_ms: 3000 } : what === 'turnstile' ? { direction: rnd() < 0.5 ? 'in' : 'out' } : {};
  const failed = rnd() < 0.03;
  return {
    at,
    type: 'command',
    kind: what,
    device,
    command,
    command_id: id,
    source,
    ...(source === 'local' ? { client_id: `guard-desk-${Math.floor(rnd() * 4)}`, username: 'guard', peer: `10.20.1.${Math.floor(rnd() * 250)}:${port()}` } : {}),
    ...(source === 'cloud' ? { client_id: 'gatehouse-tower-a-gw-1' } : {}),
    payload: JSON.stringify({ id, ...args }),
    status: failed ? 'error' : 'ok',
    ...(failed ? { code: 'timeout', message: `${device} did not finish within 5000 ms; the outcome is unknown` } : { message: `${command} done` }),
    latency_ms: 5 + Math.floor(rnd() * 200),
  };
}

/** A device event entry: mostly passages and the unlock/open/close/lock cycle of doors, some snapshots and alarms. */
function eventEntry(at: number, n: number): JournalEntry {
  const type = pick([['passage', 0.4], ['unlocked', 0.125], ['door_opened', 0.125], ['door_closed', 0.125], ['locked', 0.125], ['snapshot', 0.05], ['door_held_open', 0.03], ['door_forced', 0.02]] as const);
  const details: Record<string, unknown> =
    type === 'passage'
      ? { direction: rnd() < 0.5 ? 'in' : 'out', count: 1, total: 100_000 + n }
      : type === 'door_held_open'
        ? { open_ms: 30_000 + Math.floor(rnd() * 5000) }
        : type === 'snapshot'
          ? { bytes: 40_000 + Math.floor(rnd() * 20_000), at, file: `snapshots/lobby-cam/${new Date(at).toISOString().replace(/:/g, '-')}-${String(n % 1_000_000).padStart(6, '0')}.jpg` }
          : {};
  const kind = type === 'passage' ? 'turnstile' : type === 'snapshot' ? 'camera' : 'gate';
  const device = kind === 'turnstile' ? 'lobby-turnstile' : kind === 'camera' ? 'lobby-cam' : pick([['main-gate', 0.5], ['garage-gate', 0.3], ['side-door', 0.2]] as const);
  return eventJournalEntry({ kind, device, type, at, details });
}

/** Bytes of a fresh database holding `rows` entries made by `make`, checkpointed (no WAL left). */
function measure(label: string, make: (at: number, n: number) => JournalEntry): { label: string; rows: number; bytes: number; bytesPerRow: number } {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-journal-size-'));
  try {
    const db = openDatabase(dir);
    db.pragma('wal_checkpoint(TRUNCATE)');
    const empty = statSync(databasePath(dir)).size;
    const journal = new SqliteJournal(db);
    const start = Date.UTC(2026, 10, 23);
    const write = db.transaction((from: number) => {
      for (let n = from; n < Math.min(from + BATCH, ROWS); n++) journal.append(make(start + n * 3000, n));
    });
    for (let from = 0; from < ROWS; from += BATCH) write(from);
    db.pragma('wal_checkpoint(TRUNCATE)');
    db.close();
    const bytes = statSync(databasePath(dir)).size - empty;
    return { label, rows: ROWS, bytes, bytesPerRow: bytes / ROWS };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const commands = measure('commands', commandEntry);
const events = measure('events', eventEntry);
const perDay = COMMANDS_PER_DAY * commands.bytesPerRow + EVENTS_PER_DAY * events.bytesPerRow;
const mixPerRow = perDay / (COMMANDS_PER_DAY + EVENTS_PER_DAY);
const figures = {
  rows_measured: ROWS,
  bytes_per_command: Math.round(commands.bytesPerRow),
  bytes_per_event: Math.round(events.bytesPerRow),
  busy_site: { commands_per_day: COMMANDS_PER_DAY, events_per_day: EVENTS_PER_DAY },
  bytes_per_day: Math.round(perDay),
  bytes_for_90_days: Math.round(perDay * 90),
  days_until_default_max_rows: DEFAULT_MAX_ROWS / (COMMANDS_PER_DAY + EVENTS_PER_DAY),
  bytes_at_default_max_rows: Math.round(DEFAULT_MAX_ROWS * mixPerRow),
};

const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
if (values.json) {
  process.stdout.write(JSON.stringify(figures) + '\n');
} else {
  process.stdout.write(
    [
      `journal size, ${ROWS} entries of each sort written to a gateway database (WAL checkpointed), transactions of ${BATCH}`,
      `  command entry   ${figures.bytes_per_command} bytes`,
      `  event entry     ${figures.bytes_per_event} bytes`,
      `busy site: ${COMMANDS_PER_DAY} commands and ${EVENTS_PER_DAY} events a day`,
      `  per day         ${mib(perDay)}`,
      `  90 days         ${mib(perDay * 90)} (journal.retention_days default)`,
      `  at max_rows ${DEFAULT_MAX_ROWS} (default): ${mib(figures.bytes_at_default_max_rows)}, reached after ${figures.days_until_default_max_rows.toFixed(0)} days`,
      '',
    ].join('\n'),
  );
}
