// The gateway's own availability and state (DESIGN.md section 2): retained `online` while it runs,
// `offline` published on a clean stop to the subscribers still connected.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { clientAs, gatewayAvailabilityTopic, parseJson, startGateway, tempDataDir, topicOf, watch } from '../support/gateway.js';
import { mosquittoSub } from '../support/mosquitto.js';
import { GATEWAY_ID, GATE_A, GATE_B, SITE, TURNSTILE, USERS, siteDevice } from '../support/site.js';
import { within } from '../support/wait.js';

const gatewayStateTopic = `site/${SITE}/gateway/${GATEWAY_ID}/state`;

const device = siteDevice();

test('while running: gateway and device availability are retained online, gateway state describes the devices', async (t) => {
  const gw = await startGateway(t, device);
  const viewer = await clientAs(t, gw.port, 'viewer');
  const availability = await watch(viewer, `site/${SITE}/+/+/availability`);
  for (const topic of [gatewayAvailabilityTopic, ...[GATE_A, GATE_B, TURNSTILE].map((ref) => topicOf(ref, 'availability'))]) {
    const m = await availability.waitFor((a) => a.topic === topic);
    assert.equal(m.payload.toString(), 'online', topic);
    assert.equal(m.retain, true, `${topic} is retained`);
  }
  const state = await (await watch(viewer, gatewayStateTopic)).waitFor(() => true);
  assert.equal(state.retain, true);
  const body = parseJson(state);
  assert.equal(typeof body.version, 'string');
  assert.equal(body.session, 1, 'the first start of a fresh data dir is session 1');
  assert.deepEqual(body.devices, { total: 3, online: 3, offline: 0 });
});

test('clean stop: connected subscribers receive offline on the gateway availability topic', async (t) => {
  const gw = await startGateway(t, device);
  const js = await clientAs(t, gw.port, 'viewer');
  const fromJs = await watch(js, gatewayAvailabilityTopic);
  await fromJs.waitFor((m) => m.payload.toString() === 'online');
  const sub = await mosquittoSub({ port: gw.port, ...USERS.viewer, topics: [gatewayAvailabilityTopic] });
  t.after(() => sub.stop());
  await sub.waitFor((m) => m.text === 'online');
  const jsClosed = new Promise<void>((resolve) => js.once('close', () => resolve()));

  await gw.stop();

  const offline = await fromJs.waitFor((m) => m.payload.toString() === 'offline');
  assert.equal(offline.qos, 1);
  await sub.waitFor((m) => m.text === 'offline');
  // The broker stops with the gateway, closing its clients after the offline publish.
  await within(jsClosed, 'the MQTT.js subscriber to be disconnected');
  assert.equal(fromJs.messages.filter((m) => m.payload.toString() === 'offline').length, 1);
});

test('a restart on the same data dir starts a new session', async (t) => {
  const dataDir = tempDataDir(t);
  const first = await startGateway(t, device, { dataDir });
  await first.stop();
  const second = await startGateway(t, device, { dataDir });
  const viewer = await clientAs(t, second.port, 'viewer');
  const state = parseJson(await (await watch(viewer, gatewayStateTopic)).waitFor(() => true));
  assert.equal(state.session, 2);
});
