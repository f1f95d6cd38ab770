// A camera's own events through a real gateway: the simulated ONVIF camera's motion and tamper on
// site/{site}/camera/{id}/event, the camera's state with motion and tamper, a link from motion to
// the camera's snapshot (source link, the JPEG on the image topic), tamper in the audit journal
// (and `gatehouse journal --type tamper`), and tamper classed `security` in the cloud outbox, kept
// like door_forced when it overflows.
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { openDatabase } from '../../src/store/database.js';
import { SqliteJournal } from '../../src/store/sqlite-journal.js';
import { topics } from '../../src/topics.js';
import { TestOnvifCamera } from '../../src/simulator/onvif-camera/camera.js';
import { runCli } from '../support/cli-process.js';
import { clientAs, parseJson, parseResult, startGatewayFrom, tempDataDir, watch } from '../support/gateway.js';
import { SITE, configDocument, siteDevice } from '../support/site.js';
import { WAIT_MS, until } from '../support/wait.js';
import { startCloudBroker } from '../uplink/cloud-broker.js';
import { storedOutbox, uplinkSection } from '../uplink/uplink-harness.js';

const CAMERA = { kind: 'camera', id: 'cam-1' } as const;
const CAMERA_USER = { user: 'admin', password: 'cam-secret-1' };
const cameraTopic = (leaf: 'result' | 'event' | 'availability' | 'state') => topics[leaf](SITE, CAMERA.kind, CAMERA.id);

const device = siteDevice();

async function startCamera(t: TestContext): Promise<TestOnvifCamera> {
  const camera = new TestOnvifCamera(CAMERA_USER);
  await camera.start();
  t.after(() => camera.stop());
  return camera;
}

async function startEventGateway(t: TestContext, camera: TestOnvifCamera, setup: { links?: unknown[]; uplinkUrl?: string } = {}) {
  const doc = await configDocument(device.port, tempDataDir(t));
  (doc.transports as Record<string, unknown>).camera = { type: 'onvif', xaddr: camera.xaddr, ...CAMERA_USER, timeout_ms: 3000, backoff: { initial_ms: 50, max_ms: 200 } };
  (doc.devices as unknown[]).push({
    id: CAMERA.id,
    kind: 'camera',
    driver: 'onvif',
    transport: 'camera',
    poll_ms: 500,
    events: { enabled: true, min_interval_ms: 0 },
    options: {},
  });
  doc.links = setup.links ?? [];
  if (setup.uplinkUrl) doc.uplink = uplinkSection(setup.uplinkUrl);
  return startGatewayFrom(t, doc);
}

test('motion at the camera: an event on its topic, motion in its state, and through a link its own snapshot', async (t) => {
  const camera = await startCamera(t);
  const gw = await startEventGateway(t, camera, {
    links: [{ name: 'motion-snapshot', on: { device: CAMERA.id, event: 'motion' }, run: [{ device: CAMERA.id, command: 'snapshot' }] }],
  });
  const guard = await clientAs(t, gw.port, 'guard');
  const events = await watch(guard, cameraTopic('event'));
  const results = await watch(guard, cameraTopic('result'));
  const images = await watch(guard, topics.image(SITE, CAMERA.id));
  const states = await watch(guard, cameraTopic('state'));
  await states.waitFor((m) => parseJson(m).events === 'subscribed' && parseJson(m).motion === false, WAIT_MS);

  camera.setMotion(true, { rule: 'Driveway' });
  const motion = parseJson(await events.waitFor((m) => parseJson(m).event === 'motion', WAIT_MS));
  assert.equal(motion.kind, 'camera');
  assert.equal(motion.device, CAMERA.id);
  assert.equal(motion.source, 'Driveway');
  assert.equal(motion.topic, 'tns1:RuleEngine/CellMotionDetector/Motion');
  assert.equal(typeof motion.camera_time, 'string');
  assert.equal(typeof motion.received_at, 'number');
  await states.waitFor((m) => parseJson(m).motion === true, WAIT_MS);

  const snapshot = parseResult(await results.waitFor((m) => parseResult(m).source === 'link', WAIT_MS));
  assert.equal(snapshot.command, 'snapshot');
  assert.equal(snapshot.status, 'ok', JSON.stringify(snapshot));
  assert.deepEqual({ ...snapshot.trigger, at: undefined }, { link: 'motion-snapshot', step: 0, kind: 'camera', device: CAMERA.id, event: 'motion', at: undefined });
  const image = await images.waitFor(() => true, WAIT_MS);
  assert.ok(image.payload.equals(camera.jpeg));
});

test('tamper: journaled (and listed by `journal --type tamper`), and kept in the outbox as a security event', async (t) => {
  const camera = await startCamera(t);
  const cloud = await startCloudBroker();
  t.after(() => cloud.dispose());
  const gw = await startEventGateway(t, camera, { uplinkUrl: cloud.url });
  const guard = await clientAs(t, gw.port, 'guard');
  const events = await watch(guard, cameraTopic('event'));
  const states = await watch(guard, cameraTopic('state'));
  await states.waitFor((m) => parseJson(m).events === 'subscribed' && parseJson(m).tamper === false, WAIT_MS);
  // The cloud goes away: from now on what the gateway sends waits in the outbox, by class.
  await cloud.stop();
  const before = storedOutbox(gw.dataDir).byClass.security;

  camera.setTamper(true, { scene: true });
  const tamper = parseJson(await events.waitFor((m) => parseJson(m).event === 'tamper', WAIT_MS));
  assert.equal(tamper.source, 'VideoSource_1');
  assert.equal(tamper.topic, 'tns1:VideoSource/GlobalSceneChange/ImagingService');

  await until('the tamper event in the outbox as security', () => storedOutbox(gw.dataDir).byClass.security === before + 1);

  const db = openDatabase(gw.dataDir, { readonly: true });
  t.after(() => db.close());
  const journal = new SqliteJournal(db);
  const entry = await until('the tamper in the journal', () => journal.query({ type: 'event' }).find((e) => e.device === CAMERA.id && e.event === 'tamper'));
  assert.equal(entry.kind, 'camera');
  assert.equal(entry.at, tamper.at, 'the time of the published event: the camera\'s, on our clock');
  assert.equal(JSON.parse(entry.payload ?? '{}').source, 'VideoSource_1');

  const cli = await runCli(['journal', '--data-dir', gw.dataDir, '--type', 'tamper', '--json']);
  assert.equal(cli.code, 0, cli.stderr);
  const rows = cli.stdout.trim().split('\n').map((line) => JSON.parse(line) as { device: string; event: string });
  assert.deepEqual(rows.map((r) => [r.device, r.event]), [[CAMERA.id, 'tamper']]);
});
