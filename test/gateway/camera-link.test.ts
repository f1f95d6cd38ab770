// Snapshots as data and links, end to end: a real gateway with a pymodbus gate and the test ONVIF
// camera (src/simulator/onvif-camera/, real SOAP and HTTP Digest on loopback). A gate unlocked over
// MQTT makes, through a link, the camera go to a preset and take a snapshot: a `snapshot` result
// with source link, the JPEG bytes on the image topic, a `snapshot` event with size and time, a
// file on disk; with the uplink on, the same bytes at a real mosquitto cloud broker.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { openDatabase } from '../../src/store/database.js';
import { SqliteOutbox } from '../../src/store/sqlite-outbox.js';
import { topics } from '../../src/topics.js';
import { TestOnvifCamera } from '../../src/simulator/onvif-camera/camera.js';
import { connectClient, subscribeCollect } from '../support/mqtt-client.js';
import { startCloudBroker } from '../uplink/cloud-broker.js';
import { uplinkSection } from '../uplink/uplink-harness.js';
import { clientAs, parseJson, parseResult, resultFor, sendCommand, startGatewayFrom, tempDataDir, topicOf, uniqueId, watch } from '../support/gateway.js';
import { GATE_A, SITE, configDocument, siteDevice } from '../support/site.js';
import { WAIT_MS, until } from '../support/wait.js';

const CAMERA = { kind: 'camera', id: 'cam-1' } as const;
const CAMERA_USER = { user: 'admin', password: 'cam-secret-1' };
const cameraTopic = (leaf: 'result' | 'event' | 'availability') => topics[leaf](SITE, CAMERA.kind, CAMERA.id);

const device = siteDevice();

async function startCamera(t: TestContext): Promise<TestOnvifCamera> {
  const camera = new TestOnvifCamera({ ...CAMERA_USER, snapshotAuth: 'digest' });
  await camera.start();
  t.after(() => camera.stop());
  return camera;
}

interface Setup {
  links?: unknown[];
  snapshots?: Record<string, unknown>;
  uplinkUrl?: string;
}

/** The harness config (gates, turnstile on pymodbus) plus the camera on an onvif transport, links and snapshot bounds. */
async function startCameraGateway(t: TestContext, camera: TestOnvifCamera, setup: Setup = {}) {
  const doc = await configDocument(device.port, tempDataDir(t));
  (doc.transports as Record<string, unknown>).camera = {
    type: 'onvif',
    xaddr: camera.xaddr,
    ...CAMERA_USER,
    timeout_ms: 3000,
    backoff: { initial_ms: 50, max_ms: 200 },
  };
  (doc.devices as unknown[]).push({ id: CAMERA.id, kind: 'camera', name: 'Gate camera', driver: 'onvif', transport: 'camera', poll_ms: 500, command_timeout_ms: 5000, options: {} });
  doc.links = setup.links ?? [];
  if (setup.snapshots) doc.snapshots = setup.snapshots;
  if (setup.uplinkUrl) doc.uplink = uplinkSection(setup.uplinkUrl);
  return startGatewayFrom(t, doc);
}

const GATE_SNAPSHOT_LINK = {
  name: 'gate-snapshot',
  on: { device: GATE_A.id, event: 'unlocked' },
  run: [
    { device: CAMERA.id, command: 'preset', args: { preset: '1' } },
    { device: CAMERA.id, command: 'snapshot' },
  ],
};

test('image bytes survive the SQLite outbox unchanged (BLOB, across a reopen)', (t) => {
  const dataDir = tempDataDir(t);
  const jpeg = new TestOnvifCamera().jpeg;
  assert.ok(jpeg.includes(0xff) && jpeg.includes(0x00), 'the test JPEG has bytes that are not text');
  const topic = topics.image(SITE, CAMERA.id);
  let db = openDatabase(dataDir);
  new SqliteOutbox(db, { limits: { maxMessages: 100, maxBytes: 1_000_000 } }).append([{ topic, payload: jpeg, class: 'telemetry', createdAt: Date.now() }]);
  db.close();
  db = openDatabase(dataDir);
  t.after(() => db.close());
  const [row] = new SqliteOutbox(db, { limits: { maxMessages: 100, maxBytes: 1_000_000 } }).take(1);
  assert.equal(row.topic, topic);
  assert.ok(Buffer.isBuffer(row.payload));
  assert.ok(row.payload.equals(jpeg), 'byte-identical after a reopen');
});

test('a gate unlocked over MQTT produces, through a link, a snapshot: result with source link, image bytes, event, file', async (t) => {
  const camera = await startCamera(t);
  const gw = await startCameraGateway(t, camera, { links: [GATE_SNAPSHOT_LINK] });
  const guard = await clientAs(t, gw.port, 'guard');
  const gateResults = await watch(guard, topicOf(GATE_A, 'result'));
  const cameraResults = await watch(guard, cameraTopic('result'));
  const events = await watch(guard, cameraTopic('event'));
  const images = await watch(guard, topics.image(SITE, CAMERA.id));
  const availability = await watch(guard, cameraTopic('availability'));
  await availability.waitFor((m) => m.payload.toString() === 'online', WAIT_MS);

  const id = uniqueId('unlock');
  const sentAt = Date.now();
  await sendCommand(guard, GATE_A, 'unlock', { id, duration_ms: 500 });
  assert.equal((await resultFor(gateResults, id)).status, 'ok');

  const linked = await until('both linked results', () => {
    const found = cameraResults.messages.map(parseResult).filter((r) => r.source === 'link');
    return found.length >= 2 && found;
  });
  const [preset, snapshot] = linked;
  assert.equal(preset.command, 'preset');
  assert.equal(preset.status, 'ok', JSON.stringify(preset));
  assert.equal(snapshot.command, 'snapshot');
  assert.equal(snapshot.status, 'ok', JSON.stringify(snapshot));
  assert.match(snapshot.id, /^link-/);
  assert.deepEqual({ ...snapshot.trigger, at: undefined }, { link: 'gate-snapshot', step: 1, kind: 'gate', device: GATE_A.id, event: 'unlocked', at: undefined });
  assert.ok(snapshot.trigger!.at >= sentAt);
  assert.ok(snapshot.timing.started_at! >= preset.timing.finished_at, 'the snapshot waited for the preset');
  const gotoPreset = camera.ptzCalls.find((c) => c.operation === 'GotoPreset');
  assert.ok(gotoPreset && gotoPreset.operation === 'GotoPreset' && gotoPreset.preset === '1');
  assert.equal(camera.snapshots.length, 1);

  const image = await images.waitFor(() => true, WAIT_MS);
  assert.equal(image.qos, 1);
  assert.equal(image.retain, false);
  assert.ok(image.payload.equals(camera.jpeg), 'the image topic carries the camera\'s JPEG byte for byte');

  const event = parseJson(await events.waitFor((m) => parseJson(m).event === 'snapshot', WAIT_MS));
  assert.equal(event.device, CAMERA.id);
  assert.equal(event.kind, 'camera');
  assert.equal(event.bytes, camera.jpeg.length);
  assert.equal(typeof event.at, 'number');
  assert.ok((event.at as number) >= sentAt && (event.at as number) <= Date.now());
  assert.match(event.file as string, /^snapshots\/cam-1\/\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}\.\d{3}Z-\d{6}\.jpg$/);
  assert.ok(readFileSync(join(gw.dataDir, event.file as string)).equals(camera.jpeg), 'the file holds the same bytes');
});

test('an ordinary client may not publish on the image topic (reserved)', async (t) => {
  const camera = await startCamera(t);
  const gw = await startCameraGateway(t, camera);
  const guard = await clientAs(t, gw.port, 'guard');
  const images = await watch(guard, topics.image(SITE, CAMERA.id));
  const intruder = await clientAs(t, gw.port, 'guard');
  // Refused: an MQTT 3.1.1 server cannot refuse a QoS 0 PUBLISH with a code, so it is dropped
  // (gatehouse drops or disconnects); either way nobody receives it.
  await intruder.publishAsync(topics.image(SITE, CAMERA.id), Buffer.from('fake'), { qos: 0 }).catch(() => undefined);
  const id = uniqueId('snap');
  const results = await watch(guard, cameraTopic('result'));
  await guard.publishAsync(topics.command(SITE, CAMERA.kind, CAMERA.id, 'snapshot'), JSON.stringify({ id }), { qos: 1 });
  assert.equal((await resultFor(results, id)).status, 'ok');
  await images.waitFor(() => true, WAIT_MS);
  assert.ok(images.messages.every((m) => m.payload.equals(camera.jpeg)), 'only the gateway\'s image arrived');
});

test('with the uplink on, the image reaches the cloud broker byte-identical, with its event and the linked result', async (t) => {
  const cloud = await startCloudBroker();
  t.after(() => cloud.dispose());
  const camera = await startCamera(t);
  const watcher = await connectClient({ port: cloud.port, clientId: uniqueId('cloud-watch') });
  t.after(() => watcher.endAsync(true));
  const cloudImages = await subscribeCollect(watcher, topics.image(SITE, CAMERA.id), 1);
  const cloudEvents = await subscribeCollect(watcher, cameraTopic('event'), 1);
  const cloudResults = await subscribeCollect(watcher, cameraTopic('result'), 1);
  const gatewayState = await subscribeCollect(watcher, topics.gatewayState(SITE, 'gw'), 1);
  const gw = await startCameraGateway(t, camera, { links: [{ on: { device: GATE_A.id, event: 'unlocked' }, run: [{ device: CAMERA.id, command: 'snapshot' }] }], uplinkUrl: cloud.url });
  await gatewayState.waitFor(() => true, WAIT_MS);
  const guard = await clientAs(t, gw.port, 'guard');
  const availability = await watch(guard, cameraTopic('availability'));
  await availability.waitFor((m) => m.payload.toString() === 'online', WAIT_MS);

  await sendCommand(guard, GATE_A, 'unlock', { id: uniqueId('unlock'), duration_ms: 500 });
  const image = await cloudImages.waitFor(() => true, WAIT_MS);
  assert.ok(image.payload.equals(camera.jpeg), 'byte-identical at the cloud broker');
  assert.equal(image.retain, false);
  const event = parseJson(await cloudEvents.waitFor((m) => parseJson(m).event === 'snapshot', WAIT_MS));
  assert.equal(event.bytes, camera.jpeg.length);
  const result = parseResult(await cloudResults.waitFor((m) => parseResult(m).command === 'snapshot', WAIT_MS));
  assert.equal(result.source, 'link');
  assert.equal(result.status, 'ok');
});

test('retention: after many snapshots at most snapshots.keep files remain, the newest ones, within max_bytes', async (t) => {
  const camera = await startCamera(t);
  const keep = 3;
  const gw = await startCameraGateway(t, camera, { snapshots: { keep, max_bytes: 1_000_000 } });
  const guard = await clientAs(t, gw.port, 'guard');
  const results = await watch(guard, cameraTopic('result'));
  const events = await watch(guard, cameraTopic('event'));
  const availability = await watch(guard, cameraTopic('availability'));
  await availability.waitFor((m) => m.payload.toString() === 'online', WAIT_MS);
  const total = 10;
  for (let i = 0; i < total; i++) {
    const id = uniqueId(`snap-${i}`);
    await guard.publishAsync(topics.command(SITE, CAMERA.kind, CAMERA.id, 'snapshot'), JSON.stringify({ id }), { qos: 1 });
    assert.equal((await resultFor(results, id)).status, 'ok');
  }
  await until(`${total} snapshot events`, () => events.messages.filter((m) => parseJson(m).event === 'snapshot').length >= total);
  const folder = join(gw.dataDir, 'snapshots', CAMERA.id);
  const files = readdirSync(folder).sort();
  assert.equal(files.length, keep);
  const announced = events.messages.map(parseJson).filter((e) => e.event === 'snapshot').map((e) => (e.file as string).split('/').pop());
  assert.deepEqual(files, announced.slice(-keep).sort(), 'the newest snapshots are the ones kept');
  for (const name of files) assert.ok(readFileSync(join(folder, name)).equals(camera.jpeg));
  assert.ok(!existsSync(join(folder, announced[0]!)), 'the oldest is gone');
});
