// GET /status.json of a real gateway (pymodbus devices, real MQTT clients): which gateway answers,
// each device's availability and last state, the last events, and the last refusals with the
// client, user and reason (a publish to a mistyped site, a wrong password).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { GatewayStatusDocument } from '../../src/metrics/gateway-status.js';
import { gatewayStatus } from '../../src/metrics/gateway-status.js';
import { MetricsHttpServer } from '../../src/metrics/http-server.js';
import { RecentActivity } from '../../src/metrics/recent-activity.js';
import { VERSION } from '../../src/version.js';
import { clientAs, resultFor, sendCommand, startGateway, uniqueId, watch } from '../support/gateway.js';
import { mosquittoPub } from '../support/mosquitto.js';
import { GATE_A, GATE_B, TURNSTILE, USERS, resetDevice, siteDevice } from '../support/site.js';
import { sleep } from '../support/wait.js';
import { httpRequest } from './scrape.js';

const device = siteDevice({ reset: false });

const WAIT_MS = 15_000;

async function statusDocument(port: number): Promise<GatewayStatusDocument> {
  const answer = await httpRequest(port, '/status.json');
  assert.equal(answer.status, 200, answer.body);
  assert.match(String(answer.headers['content-type']), /^application\/json/);
  return JSON.parse(answer.body) as GatewayStatusDocument;
}

/** Asks /status.json again until `probe` finds what it looks for. */
async function statusUntil<T>(port: number, what: string, probe: (d: GatewayStatusDocument) => T | undefined): Promise<T> {
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    const document = await statusDocument(port);
    const found = probe(document);
    if (found !== undefined) return found;
    if (Date.now() > deadline) throw new Error(`timed out after ${WAIT_MS} ms waiting for ${what}; last /status.json: ${JSON.stringify(document)}`);
    await sleep(50);
  }
}

test('the gateway, its devices with their state, the last events and the last refusals', async (t) => {
  await resetDevice(device);
  const gw = await startGateway(t, device, { gateA: { unlock_ms: 60_000 } });
  const port = gw.gateway.metricsPort!;
  const guard = await clientAs(t, gw.port, 'guard');
  const results = await watch(guard, 'site/hq/+/+/result');
  const id = uniqueId('unlock');
  await sendCommand(guard, GATE_A, 'unlock', { id, duration_ms: 60_000 });
  assert.equal((await resultFor(results, id)).status, 'ok');

  // A technician's typo in the site, then a wrong password: both refused, both named.
  const typo = await mosquittoPub({ port: gw.port, username: USERS.guard.username, password: USERS.guard.password, clientId: 'tech-laptop', topic: 'site/hqq/gate/gate-a/unlock', message: '{}', qos: 1 });
  assert.notEqual(typo.code, 0, 'the broker closes the connection of a refused publish');
  const wrong = await mosquittoPub({ port: gw.port, username: USERS.guard.username, password: 'not-the-password', clientId: 'tech-laptop-2', topic: 'site/hq/gate/gate-a/lock', message: '{}', qos: 1 });
  assert.notEqual(wrong.code, 0);

  const document = await statusUntil(port, 'both refusals', (d) => (d.refusals.length >= 2 ? d : undefined));
  assert.equal(document.site, 'hq');
  assert.equal(document.gateway_id, 'gw');
  assert.equal(document.version, VERSION);
  assert.ok(Number.isInteger(document.session) && document.session >= 1);
  assert.ok(document.started_at <= document.now);
  assert.deepEqual(
    document.devices.map((d) => [d.kind, d.id, d.availability]),
    [
      ['gate', GATE_A.id, 'online'],
      ['gate', GATE_B.id, 'online'],
      ['turnstile', TURNSTILE.id, 'online'],
    ],
  );
  const gateA = document.devices.find((d) => d.id === GATE_A.id)!;
  assert.equal(gateA.name, `Gate ${GATE_A.id}`);
  assert.equal(gateA.state.lock, 'unlocked');
  assert.equal(typeof gateA.state.unlocked_until, 'number');
  assert.ok((gateA.state.unlocked_until as number) > document.now);
  const turnstile = document.devices.find((d) => d.id === TURNSTILE.id)!;
  assert.equal(turnstile.state.mode, 'locked');
  assert.equal(turnstile.state.passages_in, 0);

  const unlocked = document.events.find((e) => e.kind === 'gate' && e.device === GATE_A.id && e.event === 'unlocked');
  assert.ok(unlocked, `the unlock is among the events: ${JSON.stringify(document.events)}`);
  assert.ok(unlocked.at >= document.started_at && unlocked.at <= document.now);

  const [denied, failed] = document.refusals.slice(-2);
  assert.deepEqual({ ...denied, at: 0, peer: '' }, { at: 0, type: 'publish_denied', client_id: 'tech-laptop', username: 'guard', peer: '', protocol: 'mqtt+tcp', topic: 'site/hqq/gate/gate-a/unlock', reason: 'acl' });
  assert.match(denied.peer, /^127\.0\.0\.1:\d+$/);
  assert.deepEqual({ ...failed, at: 0, peer: '' }, { at: 0, type: 'auth_failed', client_id: 'tech-laptop-2', username: 'guard', peer: '', protocol: 'mqtt+tcp', reason: 'bad_password' });
  assert.ok(denied.at <= failed.at && failed.at <= document.now);

  const head = await httpRequest(port, '/status.json', { method: 'HEAD' });
  assert.equal(head.status, 200);
  assert.equal(head.body, '');
  const post = await httpRequest(port, '/status.json', { method: 'POST' });
  assert.equal(post.status, 405);
});

test('a device whose state cannot be read is still listed, with the error as its state', () => {
  const recent = new RecentActivity();
  const document = gatewayStatus({
    version: '9.9.9',
    startedAt: 5,
    now: () => 10,
    identity: () => ({ site: 's', gateway_id: 'g', session: 2 }),
    recent,
    devices: () => [
      { id: 'b', kind: { name: 'gate' }, availability: 'offline', config: { name: 'Back door' }, state: () => ({ lock: 'locked' }) },
      {
        id: 'a',
        kind: { name: 'gate' },
        availability: 'online',
        state: () => {
          throw new Error('driver gone');
        },
      },
    ],
  });
  assert.deepEqual(document, {
    site: 's',
    gateway_id: 'g',
    session: 2,
    version: '9.9.9',
    started_at: 5,
    now: 10,
    devices: [
      { kind: 'gate', id: 'a', availability: 'online', state: { error: 'state unavailable: driver gone' } },
      { kind: 'gate', id: 'b', name: 'Back door', availability: 'offline', state: { lock: 'locked' } },
    ],
    events: [],
    refusals: [],
  });
});

test('a metrics server given no status handler answers 404 for /status.json and names the paths it serves', async (t) => {
  const server = new MetricsHttpServer({ host: '127.0.0.1', port: 0 }, { metrics: async () => ({ contentType: 'text/plain', body: '' }), health: () => ({ healthy: true, body: {} }) });
  await server.start();
  t.after(() => server.stop());
  const status = await httpRequest(server.port, '/status.json');
  assert.equal(status.status, 404);
  assert.match(status.body, /serves no \/status\.json/);
  const other = await httpRequest(server.port, '/nothing');
  assert.equal(other.status, 404);
  assert.equal(other.body, 'not found: try /metrics, /healthz, /status.json\n');
});
