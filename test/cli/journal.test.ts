// `gatehouse journal` as a child process: where it finds the database (--data-dir, --config,
// GATEHOUSE_DATA_DIR, ./data) and the paths it tried when it finds none, --type with device event
// names, and --follow printing entries appended by a writer after it started, until SIGINT/SIGTERM.
import assert from 'node:assert/strict';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import type { JournalEntry, JournalRecord } from '../../src/commands/journal.js';
import { openDatabase } from '../../src/store/database.js';
import { GroupCommit } from '../../src/store/group-commit.js';
import { SqliteJournal } from '../../src/store/sqlite-journal.js';
import { runCli, spawnCli } from '../support/cli-process.js';
import { tempDir } from '../support/temp.js';
import { until } from '../support/wait.js';

const WAIT_MS = 20_000;
const passage = (at: number, total: number): JournalEntry => ({ at, type: 'event', kind: 'turnstile', device: 'lobby', event: 'passage', payload: JSON.stringify({ direction: 'in', count: 1, total }) });
const forced = (at: number): JournalEntry => ({ at, type: 'event', kind: 'gate', device: 'main-gate', event: 'door_forced' });
const command = (at: number, id: string): JournalEntry => ({ at, type: 'command', kind: 'gate', device: 'main-gate', command: 'unlock', command_id: id, source: 'local', status: 'ok', latency_ms: 3 });

/** A data dir holding a gateway database (WAL, as the gateway leaves it) with these entries. */
function dataDirWith(dir: string, entries: JournalEntry[]): string {
  const db = openDatabase(dir);
  const journal = new SqliteJournal(db);
  for (const e of entries) journal.append(e);
  db.close();
  return dir;
}

/** The line of the "tried" list for `path`: the path, padding, then where it came from and why it was not used. */
function triedLine(path: string, rest: string): RegExp {
  const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  return new RegExp(`^  ${escape(path)} +${escape(rest)}$`, 'm');
}

function jsonLines(stdout: string): JournalRecord[] {
  return stdout.trim() === '' ? [] : stdout.trim().split('\n').map((line) => JSON.parse(line) as JournalRecord);
}

/** A running `gatehouse journal --follow`, its output as it comes. */
function startFollower(t: TestContext, args: string[]) {
  const child: ChildProcessWithoutNullStreams = spawnCli(['journal', ...args]);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  /** Complete lines only. */
  const lines = () => stdout.slice(0, stdout.lastIndexOf('\n') + 1);
  const waitUntil = (what: string, probe: () => boolean) =>
    until(() => `${what}; stdout:\n${stdout}\nstderr:\n${stderr}`, () => {
      if (child.exitCode !== null) throw new Error(`the follower exited (${child.exitCode}) before ${what}; stderr:\n${stderr}`);
      return probe();
    }, WAIT_MS);
  return {
    child,
    exited,
    lines,
    stderr: () => stderr,
    waitUntil,
    /** With --json: waits until the records printed so far satisfy `probe`, and returns them. */
    async waitFor(what: string, probe: (records: JournalRecord[]) => boolean): Promise<JournalRecord[]> {
      await waitUntil(what, () => probe(jsonLines(lines())));
      return jsonLines(lines());
    },
  };
}

describe('gatehouse journal: finding the database', () => {
  it('without --data-dir, --config or GATEHOUSE_DATA_DIR, lists every path it tried', async (t) => {
    const cwd = tempDir(t, 'journal-cli');
    const run = await runCli(['journal'], { cwd });
    assert.equal(run.code, 2);
    assert.match(run.stderr, /no gatehouse database found; tried:/);
    assert.match(run.stderr, triedLine(join(cwd, 'data', 'gatehouse.db'), 'the default data_dir ./data, in the current directory: no such file'));
    assert.match(run.stderr, /\/etc\/gatehouse\/gatehouse\.yaml.*the installed service's config/);
    assert.match(run.stderr, triedLine(join(cwd, 'data', 'demo', 'gatehouse.db'), 'the demo\'s data_dir (npm start), in the current directory: no such file'));
    assert.match(run.stderr, /pass --data-dir DIR or --config FILE, or set GATEHOUSE_DATA_DIR/);
  });

  it('GATEHOUSE_DATA_DIR, when set, is the one place it looks, as for `run`', async (t) => {
    const cwd = tempDir(t, 'journal-cli');
    dataDirWith(join(cwd, 'data'), [forced(1000)]);
    const run = await runCli(['journal'], { cwd, env: { GATEHOUSE_DATA_DIR: join(cwd, 'elsewhere') } });
    assert.equal(run.code, 2);
    assert.match(run.stderr, triedLine(join(cwd, 'elsewhere', 'gatehouse.db'), 'GATEHOUSE_DATA_DIR: no such file'));
    assert.doesNotMatch(run.stderr, /default data_dir/);
  });

  it('finds ./data in the current directory, and says which database it reads', async (t) => {
    const cwd = tempDir(t, 'journal-cli');
    dataDirWith(join(cwd, 'data'), [forced(1000), command(2000, 'c-1')]);
    const run = await runCli(['journal', '--json'], { cwd });
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(jsonLines(run.stdout).map((r) => r.event ?? r.command_id), ['door_forced', 'c-1']);
    assert.ok(run.stderr.includes(`journal of ${join(cwd, 'data', 'gatehouse.db')} (the default data_dir ./data, in the current directory)`), run.stderr);
  });

  it('--config FILE takes data_dir from the config (relative to the current directory, as `run` does)', async (t) => {
    const cwd = tempDir(t, 'journal-cli');
    dataDirWith(join(cwd, 'site-data'), [command(1000, 'from-config')]);
    writeFileSync(join(cwd, 'site.yaml'), 'site: lobby\ndata_dir: ./site-data\n');
    const run = await runCli(['journal', '--config', 'site.yaml', '--json'], { cwd });
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(jsonLines(run.stdout).map((r) => r.command_id), ['from-config']);
    assert.match(run.stderr, /journal of .*site-data\/gatehouse\.db \(data_dir of site\.yaml\)/);

    // --data-dir wins over the config, as for `run`.
    const other = dataDirWith(join(cwd, 'other'), [command(1000, 'from-flag')]);
    const flag = await runCli(['journal', '--config', 'site.yaml', '--data-dir', other, '--json'], { cwd });
    assert.deepEqual(jsonLines(flag.stdout).map((r) => r.command_id), ['from-flag']);
  });

  it('--config with a config that has problems lists them and reads nothing', async (t) => {
    const cwd = tempDir(t, 'journal-cli');
    writeFileSync(join(cwd, 'broken.yaml'), 'site: lobby\njournal:\n  max_rows: lots\n');
    const run = await runCli(['journal', '--config', 'broken.yaml'], { cwd });
    assert.equal(run.code, 2);
    assert.match(run.stderr, /broken\.yaml: 1 problem/);
    assert.match(run.stderr, /journal\.max_rows/);
    assert.equal(run.stdout, '');
  });

  it('--data-dir without a database names the file it expected', async (t) => {
    const cwd = tempDir(t, 'journal-cli');
    const run = await runCli(['journal', '--data-dir', 'nothing-here'], { cwd });
    assert.equal(run.code, 2);
    assert.match(run.stderr, triedLine(join(cwd, 'nothing-here', 'gatehouse.db'), '--data-dir: no such file'));
  });
});

describe('gatehouse journal --type', () => {
  it('takes a device event name: --type door_forced prints those events only', async (t) => {
    const dir = dataDirWith(tempDir(t, 'journal-cli'), [forced(1000), passage(2000, 1), command(3000, 'c-1'), forced(4000)]);
    const json = await runCli(['journal', '--data-dir', dir, '--type', 'door_forced', '--json']);
    assert.equal(json.code, 0, json.stderr);
    assert.deepEqual(jsonLines(json.stdout).map((r) => [r.at, r.type, r.event, r.device]), [
      [1000, 'event', 'door_forced', 'main-gate'],
      [4000, 'event', 'door_forced', 'main-gate'],
    ]);
    const text = await runCli(['journal', '--data-dir', dir, '--type', 'passage']);
    assert.equal(text.code, 0, text.stderr);
    assert.equal(text.stdout, `${new Date(2000).toISOString()}  turnstile/lobby          passage          {"direction":"in","count":1,"total":1}\n`);
    const all = await runCli(['journal', '--data-dir', dir, '--type', 'event', '--json']);
    assert.deepEqual(jsonLines(all.stdout).map((r) => r.event), ['door_forced', 'passage', 'door_forced']);
  });

  it('an event name the journal does not hold finds nothing and says which events it holds', async (t) => {
    const dir = dataDirWith(tempDir(t, 'journal-cli'), [forced(1000), passage(2000, 1)]);
    const run = await runCli(['journal', '--data-dir', dir, '--type', 'door_forcd']);
    assert.equal(run.code, 0);
    assert.equal(run.stdout, '');
    assert.match(run.stderr, /no door_forcd event in this journal; the events it holds: door_forced, passage/);
  });

  it('refuses a --type that is neither a journal type nor an event name', async (t) => {
    const dir = dataDirWith(tempDir(t, 'journal-cli'), []);
    const run = await runCli(['journal', '--data-dir', dir, '--type', 'Door Forced']);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /--type must be one of command, auth_failed, publish_denied, subscribe_denied, lockout, event, session_expired, login, or a device event name/);
  });
});

describe('gatehouse journal --follow', () => {
  it('prints the entries appended after it started, matching its filter, until SIGINT', async (t) => {
    const dir = tempDir(t, 'journal-cli');
    const db = openDatabase(dir);
    t.after(() => db.close());
    const journal = new SqliteJournal(db);
    const commits = new GroupCommit(db);
    for (let i = 1; i <= 12; i++) journal.append(passage(i, i));
    journal.append(forced(13));

    const follower = startFollower(t, ['--data-dir', dir, '--follow', '--json', '--type', 'passage']);
    // Like tail -f: the last 10 matching entries first.
    const backlog = await follower.waitFor('the backlog', (r) => r.length === 10);
    assert.deepEqual(backlog.map((r) => r.at), [3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);

    // Written the way the gateway writes: group commit on the WAL database.
    await commits.run(() => {
      journal.append(passage(100, 100));
      journal.append(forced(101));
      journal.append(command(102, 'not-a-passage'));
    });
    await follower.waitFor('the first new passage', (r) => r.some((e) => e.at === 100));
    await commits.run(() => journal.append(passage(103, 101)));
    await commits.run(() => journal.append(passage(104, 102)));
    const seen = await follower.waitFor('two more passages', (r) => r.some((e) => e.at === 104));
    assert.deepEqual(seen.slice(10).map((r) => r.at), [100, 103, 104], 'only new passages, in order, each once');

    follower.child.kill('SIGINT');
    assert.deepEqual(await follower.exited, { code: 0, signal: null });
    assert.equal(follower.stderr(), '', 'nothing on stderr with --data-dir');
  });

  it('with --since prints every entry from then on first, then new ones, and stops cleanly on SIGTERM', async (t) => {
    const dir = dataDirWith(tempDir(t, 'journal-cli'), Array.from({ length: 15 }, (_, i) => command(Date.now() - 60_000 + i, `old-${i}`)));
    const follower = startFollower(t, ['--data-dir', dir, '--follow', '--since', '10m']);
    await follower.waitUntil('the backlog', () => follower.lines().includes('id=old-14'));
    assert.equal(follower.lines().trim().split('\n').length, 15, 'every entry since --since, not only the last 10');
    const db = openDatabase(dir);
    t.after(() => db.close());
    new SqliteJournal(db).append(command(Date.now(), 'new-one'));
    await follower.waitUntil('the new entry', () => follower.lines().includes('id=new-one'));
    assert.match(follower.lines().trim().split('\n').at(-1) ?? '', /gate\/main-gate +unlock +ok +3 ms +id=new-one/);
    follower.child.kill('SIGTERM');
    assert.deepEqual(await follower.exited, { code: 0, signal: null });
  });

  it('refuses --follow with --until', async (t) => {
    const dir = dataDirWith(tempDir(t, 'journal-cli'), []);
    const run = await runCli(['journal', '--data-dir', dir, '--follow', '--until', '1h']);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /--follow .* does not go with --until/);
  });
});
