// Commands for devices or commands that do not exist get a coded result instead of silence,
// and reach no hardware (DESIGN.md section 2).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { clientAs, resultFor, sendCommand, startGateway, startSession, topicOf, uniqueId, watch, writesOf } from '../support/gateway.js';
import { mosquittoPub, mosquittoSub } from '../support/mosquitto.js';
import { GATE_A, SITE, USERS, siteDevice } from '../support/site.js';
import type { MqttClient } from '../support/mqtt-client.js';

const device = siteDevice();

/**
 * Ends an absence check: a lock on gate-a and its result. Anything the refused command could still
 * have written went to the device before it; so the only write since `mark` is the sentinel's.
 */
async function onlyTheSentinelWritten(client: MqttClient, mark: number): Promise<void> {
  const results = await watch(client, topicOf(GATE_A, 'result'));
  const sentinel = uniqueId('sentinel');
  await sendCommand(client, GATE_A, 'lock', { id: sentinel });
  assert.equal((await resultFor(results, sentinel)).status, 'ok');
  assert.equal(device.writes.length, mark + 1, 'nothing but the sentinel reached the device');
  assert.deepEqual(writesOf(device, GATE_A.unit, mark).map((w) => w.values[0]), [false]);
}

test('unknown device: unknown_device on that device\'s result topic', async (t) => {
  const gw = await startGateway(t, device);
  const sub = await mosquittoSub({ port: gw.port, ...USERS.guard, topics: [`site/${SITE}/gate/no-such-gate/result`] });
  t.after(() => sub.stop());
  const mark = device.writes.length;
  const id = uniqueId('ghost');
  const pub = await mosquittoPub({
    port: gw.port,
    ...USERS.guard,
    topic: `site/${SITE}/gate/no-such-gate/unlock`,
    message: JSON.stringify({ id }),
    qos: 1,
  });
  assert.equal(pub.code, 0, pub.stderr);
  const result = JSON.parse((await sub.waitFor((m) => JSON.parse(m.text).id === id)).text);
  assert.equal(result.status, 'error');
  assert.equal(result.code, 'unknown_device');
  assert.equal(result.device, 'no-such-gate');
  assert.match(result.message, /no-such-gate/);
  await onlyTheSentinelWritten(await clientAs(t, gw.port, 'guard'), mark);
});

test('unknown command for an existing gate: unknown_command naming the known ones', async (t) => {
  const { client, results } = await startSession(t, device, `site/${SITE}/+/+/result`);
  const mark = device.writes.length;
  const id = uniqueId('explode');
  await sendCommand(client, GATE_A, 'explode', { id });
  const result = await resultFor(results, id);
  assert.equal(result.code, 'unknown_command');
  assert.equal(result.command, 'explode');
  assert.match(result.message, /unlock/);
  assert.match(result.message, /lock/);
  await onlyTheSentinelWritten(client, mark);
});

test('an existing device id under the wrong kind: unknown_device that says what it is', async (t) => {
  const { client, results } = await startSession(t, device, `site/${SITE}/+/+/result`);
  const mark = device.writes.length;
  const id = uniqueId('wrong-kind');
  await sendCommand(client, { kind: 'turnstile', id: GATE_A.id }, 'unlock', { id });
  const result = await resultFor(results, id);
  assert.equal(result.code, 'unknown_device');
  assert.equal(result.kind, 'turnstile');
  assert.match(result.message, new RegExp(`${GATE_A.id} is a gate`));
  await onlyTheSentinelWritten(client, mark);
});
