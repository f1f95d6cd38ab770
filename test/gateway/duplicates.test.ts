// De-duplication end to end (DESIGN.md section 2): a repeated id is never executed twice, its first
// result is sent again marked duplicate, and the memory of ids lives in SQLite across restarts.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ledgerScope } from '../../src/commands/ledger.js';
import type { CommandResult } from '../../src/commands/result.js';
import { openDatabase } from '../../src/store/database.js';
import { SqliteJournal } from '../../src/store/sqlite-journal.js';
import { SqliteLedger } from '../../src/store/sqlite-ledger.js';
import { clientAs, commandTopic, recordGatewayPublishes, resultFor, resultsFor, resultsWithId, sendCommand, startGateway, startSession, tempDataDir, topicOf, uniqueId, waitForCoil, watch, writesOf } from '../support/gateway.js';
import { mosquittoPub, mosquittoSub } from '../support/mosquitto.js';
import { GATE_A, TURNSTILE, USERS, siteDevice } from '../support/site.js';
import type { Collector, MqttClient } from '../support/mqtt-client.js';
import { until } from '../support/wait.js';

const device = siteDevice();

/** Ends an absence check: a lock on the gate, queued behind anything still due on it, and its result. */
async function sentinelLock(client: MqttClient, results: Collector): Promise<void> {
  const sentinel = uniqueId('sentinel');
  await sendCommand(client, GATE_A, 'lock', { id: sentinel });
  assert.equal((await resultFor(results, sentinel)).status, 'ok');
}

function withoutDuplicateFlag(result: CommandResult): CommandResult {
  const { duplicate: _ignored, ...rest } = result;
  return rest;
}

test('a repeated id gets the first result again with duplicate:true and the device sees one write', async (t) => {
  const { gw, client, results } = await startSession(t, device, GATE_A);
  const mark = device.writes.length;
  const id = uniqueId('dup');

  await sendCommand(client, GATE_A, 'unlock', { id, duration_ms: 200 });
  const first = await resultFor(results, id);
  assert.equal(first.status, 'ok');
  assert.equal(first.duplicate, undefined);
  await waitForCoil(device, GATE_A.unit, 0, false, mark);

  // The same id again, from another client and tool: mosquitto_pub.
  const pub = await mosquittoPub({
    port: gw.port,
    ...USERS.guard,
    topic: commandTopic(GATE_A, 'unlock'),
    message: JSON.stringify({ id, duration_ms: 200 }),
    qos: 1,
  });
  assert.equal(pub.code, 0, pub.stderr);
  const [, second] = await resultsFor(results, id, 2);
  assert.equal(second.duplicate, true);
  assert.deepEqual(withoutDuplicateFlag(second), first, 'the duplicate carries the first result unchanged');

  await sentinelLock(client, results);
  assert.deepEqual(writesOf(device, GATE_A.unit, mark).map((w) => w.values[0]), [true, false, false], 'one pulse only, then the sentinel lock');
  assert.equal(resultsWithId(results, id).length, 2);
});

test('a duplicate sent while the first is still running waits for the first result', async (t) => {
  const { client, results } = await startSession(t, device, TURNSTILE, { turnstile: { pulse_ms: 300 } });
  const mark = device.writes.length;
  const id = uniqueId('inflight');
  await Promise.all([
    sendCommand(client, TURNSTILE, 'pass', { id, direction: 'in' }),
    sendCommand(client, TURNSTILE, 'pass', { id, direction: 'in' }),
  ]);
  const [a, b] = await resultsFor(results, id, 2);
  const original = a.duplicate ? b : a;
  const copy = a.duplicate ? a : b;
  assert.equal(original.status, 'ok');
  assert.equal(copy.duplicate, true);
  assert.deepEqual(withoutDuplicateFlag(copy), original);
  // A sentinel passage ends the absence check.
  const sentinel = uniqueId('sentinel');
  await sendCommand(client, TURNSTILE, 'pass', { id: sentinel, direction: 'out' });
  assert.equal((await resultFor(results, sentinel)).status, 'ok');
  await until('the sentinel pulse to end', () => writesOf(device, TURNSTILE.unit, mark).length >= 4);
  assert.deepEqual(writesOf(device, TURNSTILE.unit, mark).map((w) => [w.address, w.values[0]]), [[0, true], [0, false], [1, true], [1, false]], 'one passage in, then the sentinel out');
});

test('the duplicate survives a gateway restart with the same data dir', async (t) => {
  const dataDir = tempDataDir(t);
  const id = uniqueId('restart');
  let first: CommandResult;
  {
    const gw = await startGateway(t, device, { dataDir });
    const client = await clientAs(t, gw.port, 'guard');
    const results = await watch(client, topicOf(GATE_A, 'result'));
    await sendCommand(client, GATE_A, 'unlock', { id, duration_ms: 150 });
    first = await resultFor(results, id);
    assert.equal(first.status, 'ok');
    await client.endAsync(true);
    await gw.stop();
  }
  // Counted from before the start: a replay during start-up would show.
  const mark = device.writes.length;
  const gw = await startGateway(t, device, { dataDir });
  const sub = await mosquittoSub({ port: gw.port, ...USERS.guard, topics: [topicOf(GATE_A, 'result')] });
  t.after(() => sub.stop());
  const pub = await mosquittoPub({
    port: gw.port,
    ...USERS.guard,
    topic: commandTopic(GATE_A, 'unlock'),
    message: JSON.stringify({ id, duration_ms: 150 }),
    qos: 1,
  });
  assert.equal(pub.code, 0, pub.stderr);
  const again = JSON.parse((await sub.waitFor((m) => JSON.parse(m.text).id === id)).text) as CommandResult;
  assert.equal(again.duplicate, true);
  assert.deepEqual(withoutDuplicateFlag(again), first);
  const client = await clientAs(t, gw.port, 'guard');
  await sentinelLock(client, await watch(client, topicOf(GATE_A, 'result')));
  assert.deepEqual(writesOf(device, GATE_A.unit, mark).map((w) => w.values[0]), [false, false], 'the safe state at start, the sentinel lock: not executed again after the restart');
});

test('a command interrupted by a crash gets one "outcome unknown" result at start and is never run', async (t) => {
  const dataDir = tempDataDir(t);
  const id = uniqueId('crashed');
  const scope = ledgerScope(GATE_A.kind, GATE_A.id);
  // What a gateway killed mid-command leaves behind: a claimed id without a result.
  const db = openDatabase(dataDir);
  new SqliteLedger(db).claim(scope, id, Date.now() - 5000, { command: 'unlock', source: 'local', client_id: 'crashed-app', username: 'guard' });
  db.close();

  const published = recordGatewayPublishes(t);
  // Counted from before the start: running the interrupted command during start-up would show.
  const mark = device.writes.length;
  const gw = await startGateway(t, device, { dataDir });
  const recovered = published.filter((p) => p.topic === topicOf(GATE_A, 'result')).map((p) => JSON.parse(p.payload) as CommandResult);
  assert.equal(recovered.length, 1, 'exactly one result published for the interrupted command');
  assert.equal(recovered[0].id, id);
  assert.equal(recovered[0].status, 'error');
  assert.equal(recovered[0].code, 'device_error');
  assert.equal(recovered[0].command, 'unlock');
  assert.match(recovered[0].message, /outcome is unknown/);

  const reader = openDatabase(dataDir, { readonly: true });
  t.after(() => reader.close());
  const entries = new SqliteJournal(reader).query({}).filter((e) => e.command_id === id);
  assert.equal(entries.length, 1);
  assert.equal(entries[0].code, 'device_error');
  assert.equal(entries[0].client_id, 'crashed-app');

  const client = await clientAs(t, gw.port, 'guard');
  const results = await watch(client, topicOf(GATE_A, 'result'));
  await sendCommand(client, GATE_A, 'unlock', { id, duration_ms: 150 });
  const duplicate = await resultFor(results, id);
  assert.equal(duplicate.duplicate, true);
  assert.equal(duplicate.code, 'device_error');
  await sentinelLock(client, results);
  assert.deepEqual(writesOf(device, GATE_A.unit, mark).map((w) => w.values[0]), [false, false], 'the safe state at start, the sentinel lock: the interrupted command is never executed');
});
