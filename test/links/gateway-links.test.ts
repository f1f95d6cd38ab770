// Links end to end with a real gateway and a pymodbus device (gates and a turnstile, no camera):
// a gate unlocked over MQTT makes, through a link, the other gate unlock; the linked command is
// journaled and answered on the target's result topic with source `link` and its trigger.
// The camera (snapshot through a link) is in test/gateway/camera-link.test.ts.
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { openDatabase } from '../../src/store/database.js';
import { SqliteJournal } from '../../src/store/sqlite-journal.js';
import { clientAs, parseResult, resultFor, sendCommand, startGatewayFrom, tempDataDir, topicOf, uniqueId, waitForCoil, watch } from '../support/gateway.js';
import { isLog, siteFiles, spawnGateway } from '../support/gateway-process.js';
import { GATE_A, GATE_B, TURNSTILE, configDocument, siteDevice } from '../support/site.js';
import { until } from '../support/wait.js';

const device = siteDevice();

async function startWithLinks(t: TestContext, links: unknown[], commands: Record<string, unknown> = {}) {
  const doc = await configDocument(device.port, tempDataDir(t), { commands });
  doc.links = links;
  return startGatewayFrom(t, doc);
}

test('gate-a unlocked over MQTT: the link unlocks gate-b, with a result of source link and the journal entry', async (t) => {
  const gw = await startWithLinks(t, [
    { name: 'pair', on: { device: GATE_A.id, event: 'unlocked' }, run: [{ device: GATE_B.id, command: 'unlock', args: { duration_ms: 400 } }] },
  ]);
  const guard = await clientAs(t, gw.port, 'guard');
  const resultsA = await watch(guard, topicOf(GATE_A, 'result'));
  const resultsB = await watch(guard, topicOf(GATE_B, 'result'));
  const from = device.writes.length;
  const id = uniqueId('unlock-a');
  await sendCommand(guard, GATE_A, 'unlock', { id, duration_ms: 400 });
  assert.equal((await resultFor(resultsA, id)).status, 'ok');

  const linked = parseResult(await resultsB.waitFor((m) => parseResult(m).source === 'link', 10_000));
  assert.equal(linked.status, 'ok', JSON.stringify(linked));
  assert.equal(linked.command, 'unlock');
  assert.match(linked.id, /^link-[0-9a-f-]{36}$/);
  assert.equal(linked.trigger?.link, 'pair');
  assert.equal(linked.trigger?.device, GATE_A.id);
  assert.equal(linked.trigger?.event, 'unlocked');
  assert.equal(linked.trigger?.step, 0);
  await waitForCoil(device, GATE_B.unit, 0, true, from);

  const db = openDatabase(gw.dataDir, { readonly: true });
  t.after(() => db.close());
  const entry = await until('the linked command in the journal', () =>
    new SqliteJournal(db).query({ device: GATE_B.id }).find((e) => e.command_id === linked.id),
  );
  assert.equal(entry.source, 'link');
  assert.equal(entry.client_id, `link:pair:${GATE_A.id}/unlocked`);
  assert.equal(entry.status, 'ok');
});

test('a linked command that fails gets its error result with source link; later steps are skipped', async (t) => {
  const gw = await startWithLinks(t, [
    {
      name: 'bad-then-good',
      on: { device: GATE_A.id, event: 'unlocked' },
      run: [
        { device: TURNSTILE.id, command: 'pass', args: { direction: 'in' } },
        { device: GATE_B.id, command: 'unlock' },
      ],
    },
  ]);
  const guard = await clientAs(t, gw.port, 'guard');
  const resultsA = await watch(guard, topicOf(GATE_A, 'result'));
  const resultsT = await watch(guard, topicOf(TURNSTILE, 'result'));
  const resultsB = await watch(guard, topicOf(GATE_B, 'result'));
  // The turnstile stops answering and goes offline: its linked pass fails, so gate-b is never commanded.
  const availability = await watch(guard, topicOf(TURNSTILE, 'availability'));
  await device.mute(TURNSTILE.unit, true);
  t.after(() => device.mute(TURNSTILE.unit, false).catch(() => undefined));
  await availability.waitFor((m) => m.payload.toString() === 'offline', 10_000);
  const id = uniqueId('unlock-a');
  await sendCommand(guard, GATE_A, 'unlock', { id, duration_ms: 300 });
  assert.equal((await resultFor(resultsA, id)).status, 'ok');
  const failed = parseResult(await resultsT.waitFor((m) => parseResult(m).source === 'link', 10_000));
  assert.equal(failed.status, 'error');
  assert.equal(failed.code, 'offline');
  assert.equal(failed.trigger?.link, 'bad-then-good');
  // A sentinel lock on gate-b ends the absence check: a wrongly run second step was queued before it.
  const sentinel = uniqueId('sentinel');
  await sendCommand(guard, GATE_B, 'lock', { id: sentinel });
  assert.equal((await resultFor(resultsB, sentinel)).status, 'ok');
  assert.deepEqual(resultsB.messages.map((m) => parseResult(m).id), [sentinel], 'the step after the failed one did not run');
});

test('a reload replaces the links: a link added by SIGHUP fires, one removed no longer does', async (t) => {
  // A real `gatehouse run` process: the reload is its SIGHUP handler reading the changed file.
  const site = await siteFiles(t, device.port);
  const gateway = await spawnGateway(t, site.file);
  const guard = await clientAs(t, gateway.port, 'guard');
  const resultsA = await watch(guard, topicOf(GATE_A, 'result'));
  const resultsB = await watch(guard, topicOf(GATE_B, 'result'));
  const eventsA = await watch(guard, topicOf(GATE_A, 'event'));
  const eventsOf = (type: string) => eventsA.messages.filter((m) => JSON.parse(m.payload.toString()).event === type).length;
  const reloads = () => gateway.logs.filter(isLog('configuration reloaded')).length;

  site.write({ ...site.document, links: [{ name: 'added', on: { device: GATE_A.id, event: 'unlocked' }, run: [{ device: GATE_B.id, command: 'unlock', args: { duration_ms: 300 } }] }] });
  gateway.signal('SIGHUP');
  await until('the first reload', () => reloads() === 1);
  const first = uniqueId('unlock-a');
  await sendCommand(guard, GATE_A, 'unlock', { id: first, duration_ms: 300 });
  assert.equal((await resultFor(resultsA, first)).status, 'ok');
  const linked = parseResult(await resultsB.waitFor((m) => parseResult(m).source === 'link', 10_000));
  assert.equal(linked.trigger?.link, 'added');
  assert.equal(linked.status, 'ok', JSON.stringify(linked));

  site.write({ ...site.document, links: [] });
  gateway.signal('SIGHUP');
  await until('the second reload', () => reloads() === 2);
  // gate-a relocks first, so that the next unlock emits `unlocked` again: the trigger really happens.
  await until('gate-a relocked', () => eventsOf('locked') >= 1 || undefined);
  const second = uniqueId('unlock-a');
  await sendCommand(guard, GATE_A, 'unlock', { id: second, duration_ms: 300 });
  assert.equal((await resultFor(resultsA, second)).status, 'ok');
  await until('gate-a unlocked again', () => eventsOf('unlocked') >= 2 || undefined);
  // A sentinel lock on gate-b ends the absence check: a wrongly kept link's unlock was queued before it.
  const sentinel = uniqueId('sentinel');
  await sendCommand(guard, GATE_B, 'lock', { id: sentinel });
  assert.equal((await resultFor(resultsB, sentinel)).status, 'ok');
  assert.deepEqual(resultsB.messages.map((m) => parseResult(m).id), [linked.id, sentinel], 'the removed link did not run');
});
