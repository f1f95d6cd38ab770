// The gateway over a serial bus: the harness site (two gates, a turnstile) moved onto one
// modbus-rtu transport, a socat pty pair as the RS-485 line and Debian pymodbus as the three units.
// drivers/modbus runs unchanged; only the transport differs from the TCP end-to-end tests.
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { clientAs, resultFor, sendCommand, startGatewayFrom, tempDataDir, topicOf, uniqueId, waitForAvailability, waitForCoil, watch } from '../support/gateway.js';
import { startModbusDevice, type ModbusDevice } from '../support/modbus-device.js';
import { startPtyPair, type PtyPair } from '../support/pty-pair.js';
import { GATE_A, GATE_B, TRANSPORT, TURNSTILE, UNITS, configDocument, type DeviceRef } from '../support/site.js';
import { WAIT_MS } from '../support/wait.js';

const BAUD = 38_400;

interface SerialSite {
  pair: PtyPair;
  device: ModbusDevice;
  port: number;
}

/** A socat line, pymodbus serving the harness units on one end, a Gateway on the other. */
async function serialSite(t: TestContext): Promise<SerialSite> {
  const pair = await startPtyPair();
  t.after(() => pair.dispose());
  const device = await startModbusDevice({ rtuPath: pair.b, baud: BAUD, units: UNITS });
  t.after(() => device.stop());
  const document = await configDocument(0, tempDataDir(t));
  document.transports = {
    [TRANSPORT]: { type: 'modbus-rtu', path: pair.a, baud_rate: BAUD, timeout_ms: 300, backoff: { initial_ms: 50, max_ms: 200 } },
  };
  const { port } = await startGatewayFrom(t, document);
  return { pair, device, port };
}

/** The latest availability of `ref` seen on `availability`, if any. */
function availabilityOf(availability: { messages: { topic: string; payload: Buffer }[] }, ref: DeviceRef): string | undefined {
  const seen = availability.messages.filter((m) => m.topic === topicOf(ref, 'availability'));
  return seen.at(-1)?.payload.toString();
}

test('three units on one bus: concurrent commands under polling all succeed and reach the device', async (t) => {
  const site = await serialSite(t);
  const guard = await clientAs(t, site.port, 'guard');
  const results = await watch(guard, 'site/hq/+/+/result');
  const availability = await watch(guard, 'site/hq/+/+/availability');
  for (const ref of [GATE_A, GATE_B, TURNSTILE]) await waitForAvailability(availability, ref, 'online');

  const mark = site.device.writes.length;
  const sent: { ref: DeviceRef; id: string }[] = [];
  for (let round = 0; round < 3; round++) {
    for (const ref of [GATE_A, GATE_B, TURNSTILE]) sent.push({ ref, id: uniqueId(`${ref.id}-${round}`) });
  }
  await Promise.all(sent.map((s) => sendCommand(guard, s.ref, 'unlock', { id: s.id })));
  for (const s of sent) {
    const result = await resultFor(results, s.id);
    assert.equal(result.status, 'ok', `${s.ref.id} ${s.id}: ${result.message}`);
  }
  // Each unit saw its own output switched: the gates' unlock coil, the turnstile's free coil.
  await waitForCoil(site.device, GATE_A.unit, 0, true, mark);
  await waitForCoil(site.device, GATE_B.unit, 0, true, mark);
  await waitForCoil(site.device, TURNSTILE.unit, 2, true, mark);
  for (const ref of [GATE_A, GATE_B, TURNSTILE]) assert.equal(availabilityOf(availability, ref), 'online', `${ref.id} stayed online`);
});

test('a muted unit goes offline while its neighbours keep working', async (t) => {
  const site = await serialSite(t);
  const guard = await clientAs(t, site.port, 'guard');
  const results = await watch(guard, 'site/hq/+/+/result');
  const availability = await watch(guard, 'site/hq/+/+/availability');
  for (const ref of [GATE_A, GATE_B, TURNSTILE]) await waitForAvailability(availability, ref, 'online');

  await site.device.mute(GATE_B.unit, true);
  await waitForAvailability(availability, GATE_B, 'offline');
  const mark = site.device.writes.length;
  const id = uniqueId('neighbour');
  await sendCommand(guard, GATE_A, 'unlock', { id, duration_ms: 150 });
  assert.equal((await resultFor(results, id)).status, 'ok');
  await waitForCoil(site.device, GATE_A.unit, 0, true, mark);
  assert.equal(availabilityOf(availability, GATE_A), 'online');
  assert.equal(availabilityOf(availability, TURNSTILE), 'online');

  const from = availability.messages.length;
  await site.device.mute(GATE_B.unit, false);
  await waitForAvailability(availability, GATE_B, 'online', from);
});

test('the line goes away: every device offline, commands fail fast; it comes back: online with fresh state', async (t) => {
  const site = await serialSite(t);
  const guard = await clientAs(t, site.port, 'guard');
  const results = await watch(guard, 'site/hq/+/+/result');
  const availability = await watch(guard, 'site/hq/+/+/availability');
  const states = await watch(guard, 'site/hq/+/+/state');
  for (const ref of [GATE_A, GATE_B, TURNSTILE]) await waitForAvailability(availability, ref, 'online');
  await site.device.set(GATE_A.unit, 'di', 0, [true]); // the door is open before the outage
  await states.waitFor((m) => m.topic === topicOf(GATE_A, 'state') && JSON.parse(m.payload.toString()).door === 'open', WAIT_MS);

  const outage = availability.messages.length;
  await site.pair.kill();
  for (const ref of [GATE_A, GATE_B, TURNSTILE]) await waitForAvailability(availability, ref, 'offline', outage);
  const id = uniqueId('during-outage');
  await sendCommand(guard, GATE_B, 'unlock', { id });
  const failed = await resultFor(results, id);
  assert.equal(failed.status, 'error');
  assert.equal(failed.code, 'offline', failed.message);

  // The adapter is back under the same name; the device behind it starts with a fresh datastore.
  await site.device.stop();
  const back = availability.messages.length;
  const stateMark = states.messages.length;
  await site.pair.start();
  await site.device.restart();
  for (const ref of [GATE_A, GATE_B, TURNSTILE]) await waitForAvailability(availability, ref, 'online', back);
  const fresh = states.messages.slice(stateMark).filter((m) => m.topic === topicOf(GATE_A, 'state'));
  assert.ok(fresh.length >= 1, 'state is published afresh');
  assert.equal(JSON.parse(fresh.at(-1)!.payload.toString()).door, 'closed', 'the door reads closed from the fresh device');

  const mark = site.device.writes.length;
  const after = uniqueId('after-outage');
  await sendCommand(guard, GATE_A, 'unlock', { id: after, duration_ms: 150 });
  assert.equal((await resultFor(results, after)).status, 'ok');
  await waitForCoil(site.device, GATE_A.unit, 0, true, mark);
});
