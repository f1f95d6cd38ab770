// A device that vanishes and comes back (DESIGN.md sections 1 and 3): availability goes offline
// (retained) after offline_after failed polls, commands fail fast with `offline` instead of
// hanging, and once the device answers again it is online with a freshly read state.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { clientAs, resultFor, sendCommand, startGateway, topicOf, uniqueId, waitForCoil, watch } from '../support/gateway.js';
import { mosquittoSub } from '../support/mosquitto.js';
import { GATE_A, GATE_B, TURNSTILE, USERS, siteDevice } from '../support/site.js';

// This file kills its device, so it has its own.
const device = siteDevice();

test('device killed: offline after failed polls, commands answered offline; restarted: online with fresh state', async (t) => {
  await device.set(GATE_A.unit, 'di', 0, [true]); // door open before the outage
  const gw = await startGateway(t, device, { gates: { offline_after: 2, poll_ms: 100, held_open_ms: 60_000 } });
  const sub = await mosquittoSub({ port: gw.port, ...USERS.viewer, topics: [topicOf(GATE_A, 'availability'), topicOf(GATE_A, 'state')] });
  t.after(() => sub.stop());
  const isAvailability = (text: string) => (m: { topic: string; text: string }) => m.topic === topicOf(GATE_A, 'availability') && m.text === text;
  const isState = (m: { topic: string }) => m.topic === topicOf(GATE_A, 'state');
  await sub.waitFor(isAvailability('online'));
  await sub.waitFor((m) => isState(m) && JSON.parse(m.text).door === 'open');
  const guard = await clientAs(t, gw.port, 'guard');
  const results = await watch(guard, 'site/hq/+/+/result');

  await device.kill();
  const offline = await sub.waitFor(isAvailability('offline'));
  const offlineIndex = sub.messages.indexOf(offline);

  // Retained for anyone who arrives during the outage.
  const late = await clientAs(t, gw.port, 'viewer');
  const availability = await watch(late, 'site/hq/+/+/availability');
  for (const ref of [GATE_A, GATE_B, TURNSTILE]) {
    const m = await availability.waitFor((a) => a.topic === topicOf(ref, 'availability') && a.payload.toString() === 'offline');
    assert.equal(m.retain, true, `${ref.id} offline is retained`);
  }

  // Commands to every device are answered with `offline`, none waits for its timeout.
  const ids = [
    [GATE_A, 'unlock'],
    [GATE_B, 'lock'],
    [TURNSTILE, 'unlock'],
  ] as const;
  const sent = ids.map(([ref, command]) => ({ ref, command, id: uniqueId(`${ref.id}-down`) }));
  await Promise.all(sent.map((s) => sendCommand(guard, s.ref, s.command, { id: s.id })));
  for (const s of sent) {
    const result = await resultFor(results, s.id);
    assert.equal(result.status, 'error');
    assert.equal(result.code, 'offline', `${s.ref.id}: ${result.message}`);
  }

  await device.restart(); // same port, fresh datastore: the door now reads closed
  const mark = device.writes.length;
  const online = await sub.waitFor((m) => isAvailability('online')(m) && sub.messages.indexOf(m) > offlineIndex);
  const onlineIndex = sub.messages.indexOf(online);
  const fresh = sub.messages.filter((m, i) => isState(m) && i > offlineIndex && i < onlineIndex);
  assert.ok(fresh.length >= 1, 'a state message precedes the online announcement');
  assert.equal(JSON.parse(fresh[fresh.length - 1].text).door, 'closed', 'the state is read afresh from the device');

  const id = uniqueId('after-outage');
  await sendCommand(guard, GATE_A, 'unlock', { id, duration_ms: 150 });
  assert.equal((await resultFor(results, id)).status, 'ok');
  await waitForCoil(device, GATE_A.unit, 0, true, mark);
  await waitForCoil(device, GATE_A.unit, 0, false, mark);
});
