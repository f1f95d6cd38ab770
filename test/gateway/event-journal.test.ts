// Device events in the audit journal, end to end: a real gateway with pymodbus gates and turnstile
// and the test ONVIF camera. door_forced, door_held_open, passage and snapshot are journaled with
// device, kind, time and fields; `gatehouse journal --type door_forced` prints them, and
// `gatehouse journal --follow` (a child process) prints them as they happen.
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import type { JournalRecord } from '../../src/commands/journal.js';
import { TestOnvifCamera } from '../../src/simulator/onvif-camera/camera.js';
import { openDatabase } from '../../src/store/database.js';
import { SqliteJournal } from '../../src/store/sqlite-journal.js';
import { topics } from '../../src/topics.js';
import { runCli, spawnCli } from '../support/cli-process.js';
import { clientAs, parseJson, resultFor, startGateway, startGatewayFrom, tempDataDir, topicOf, uniqueId, watch, type RunningGateway } from '../support/gateway.js';
import { GATE_A, SITE, TURNSTILE, configDocument, siteDevice } from '../support/site.js';
import { until } from '../support/wait.js';

const HELD_OPEN_MS = 1000; // the smallest the config allows
/** A CLI child process under tsx takes a few seconds to start on a busy machine. */
const FOLLOW_WAIT_MS = 30_000;

const device = siteDevice();

const setDoor = (open: boolean) => device.set(GATE_A.unit, 'di', 0, [open]);

/** The journal's event entries, read the way an operator would while the gateway runs. */
function journalEvents(t: TestContext, gw: RunningGateway): () => JournalRecord[] {
  const db = openDatabase(gw.dataDir, { readonly: true });
  t.after(() => db.close());
  const journal = new SqliteJournal(db);
  return () => journal.query({ type: 'event' });
}

test('door_forced and door_held_open are journaled with device, kind, time and fields; --type door_forced prints them', async (t) => {
  const gw = await startGateway(t, device, { gateA: { held_open_ms: HELD_OPEN_MS } });
  const viewer = await clientAs(t, gw.port, 'viewer');
  const events = await watch(viewer, topicOf(GATE_A, 'event'));
  const journaled = journalEvents(t, gw);

  await setDoor(true);
  const forced = parseJson(await events.waitFor((m) => parseJson(m).event === 'door_forced'));
  const held = parseJson(await events.waitFor((m) => parseJson(m).event === 'door_held_open', HELD_OPEN_MS + 10_000));
  await setDoor(false);
  await events.waitFor((m) => parseJson(m).event === 'door_closed');

  const entries = await until('the door events in the journal', () => {
    const found = journaled().filter((e) => e.device === GATE_A.id);
    return found.some((e) => e.event === 'door_closed') && found;
  });
  assert.deepEqual(entries.map((e) => e.event), ['door_forced', 'door_held_open', 'door_closed']);
  const [forcedEntry, heldEntry] = entries;
  assert.deepEqual({ ...forcedEntry, seq: 0 }, { seq: 0, at: forced.at, type: 'event', kind: 'gate', device: GATE_A.id, event: 'door_forced' }, 'the time of the published event');
  assert.equal(heldEntry.at, held.at);
  assert.deepEqual(JSON.parse(heldEntry.payload ?? ''), { open_ms: held.open_ms }, 'the event\'s fields');

  const cli = await runCli(['journal', '--data-dir', gw.dataDir, '--type', 'door_forced', '--json']);
  assert.equal(cli.code, 0, cli.stderr);
  const printed = cli.stdout.trim().split('\n').map((line) => JSON.parse(line) as JournalRecord);
  assert.deepEqual(printed, [forcedEntry]);
  const text = await runCli(['journal', '--data-dir', gw.dataDir, '--type', 'door_held_open']);
  assert.match(text.stdout, new RegExp(`^${new Date(held.at as number).toISOString()}  gate/gate-a +door_held_open +\\{"open_ms":${held.open_ms}\\}$`, 'm'));
});

test('turnstile passages are journaled, and `--follow` (a child process) prints them as they happen', async (t) => {
  const gw = await startGateway(t, device);
  const viewer = await clientAs(t, gw.port, 'viewer');
  const events = await watch(viewer, topicOf(TURNSTILE, 'event'));

  const follower = spawnCli(['journal', '--data-dir', gw.dataDir, '--follow', '--json', '--type', 'passage']);
  let stdout = '';
  follower.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => follower.once('exit', (code) => resolve(code)));
  t.after(() => {
    if (follower.exitCode === null) follower.kill('SIGKILL');
  });
  // It reads the (empty) backlog, then polls; give it a marker to know it is following: a first passage.
  await device.set(TURNSTILE.unit, 'ir', 0, [1]);
  const printed = () => stdout.slice(0, stdout.lastIndexOf('\n') + 1).split('\n').filter(Boolean).map((line) => JSON.parse(line) as JournalRecord);
  await until('the first passage printed by the follower', () => printed().length === 1, FOLLOW_WAIT_MS);
  await device.set(TURNSTILE.unit, 'ir', 1, [2]);
  await events.waitFor((m) => parseJson(m).direction === 'out');
  await until('the outward passage printed by the follower', () => printed().length === 2, FOLLOW_WAIT_MS);

  assert.deepEqual(
    printed().map((r) => [r.type, r.kind, r.device, r.event, JSON.parse(r.payload ?? '')]),
    [
      ['event', 'turnstile', TURNSTILE.id, 'passage', { direction: 'in', count: 1, total: 1 }],
      ['event', 'turnstile', TURNSTILE.id, 'passage', { direction: 'out', count: 2, total: 2 }],
    ],
  );
  follower.kill('SIGINT');
  assert.equal(await exited, 0);
});

test('a camera snapshot is journaled as a snapshot event with its size and file', async (t) => {
  const camera = new TestOnvifCamera({ user: 'admin', password: 'cam-secret-1', snapshotAuth: 'digest' });
  await camera.start();
  t.after(() => camera.stop());
  const doc = await configDocument(device.port, tempDataDir(t));
  (doc.transports as Record<string, unknown>).camera = { type: 'onvif', xaddr: camera.xaddr, user: 'admin', password: 'cam-secret-1', timeout_ms: 3000, backoff: { initial_ms: 50, max_ms: 200 } };
  (doc.devices as unknown[]).push({ id: 'cam-1', kind: 'camera', name: 'Gate camera', driver: 'onvif', transport: 'camera', poll_ms: 500, command_timeout_ms: 5000, options: {} });
  const gw = await startGatewayFrom(t, doc);
  const guard = await clientAs(t, gw.port, 'guard');
  const results = await watch(guard, topics.result(SITE, 'camera', 'cam-1'));
  const events = await watch(guard, topics.event(SITE, 'camera', 'cam-1'));
  const id = uniqueId('snap');
  await guard.publishAsync(topics.command(SITE, 'camera', 'cam-1', 'snapshot'), JSON.stringify({ id }), { qos: 1 });
  assert.equal((await resultFor(results, id)).status, 'ok');
  const published = parseJson(await events.waitFor((m) => parseJson(m).event === 'snapshot'));

  const journaled = journalEvents(t, gw);
  const [entry] = await until('the snapshot event in the journal', () => {
    const found = journaled().filter((e) => e.event === 'snapshot');
    return found.length > 0 && found;
  });
  assert.equal(entry.kind, 'camera');
  assert.equal(entry.device, 'cam-1');
  assert.equal(entry.at, published.at);
  const { bytes, file } = JSON.parse(entry.payload ?? '');
  assert.equal(bytes, published.bytes);
  assert.equal(file, published.file);
  assert.ok((bytes as number) > 0);
});
