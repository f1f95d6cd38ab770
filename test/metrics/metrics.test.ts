// Prometheus metrics of a real gateway (pymodbus devices, MQTT commands) scraped over real HTTP and
// read back from the text format: command counters by result code, the latency histogram, device
// availability and poll failures, broker figures, process metrics; and the server's failure modes.
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { test } from 'node:test';
import { COMMAND_DURATION_BUCKETS } from '../../src/metrics/metrics.js';
import { select, sumOf } from '../../src/metrics/text-format.js';
import { clientAs, resultFor, resultsFor, sendCommand, startGateway, topicOf, uniqueId, watch } from '../support/gateway.js';
import { connectClient } from '../support/mqtt-client.js';
import { GATE_A, GATE_B, TURNSTILE, configDocument, loadHarnessConfig, siteDevice } from '../support/site.js';
import { until } from '../support/wait.js';
import { startCloudBroker } from '../uplink/cloud-broker.js';
import { startUplinkGateway } from '../uplink/uplink-harness.js';
import { httpRequest, scrape, valueOf } from './scrape.js';
import type { Sample } from '../../src/metrics/text-format.js';

const device = siteDevice();

const WAIT_MS = 15_000;

test('commands by result code, latency histogram, devices, broker and process metrics', async (t) => {
  const gw = await startGateway(t, device);
  const port = gw.gateway.metricsPort;
  assert.ok(port, 'the metrics server listens');
  const guard = await clientAs(t, gw.port, 'guard');
  const viewer = await clientAs(t, gw.port, 'viewer');
  const results = await watch(guard, 'site/hq/+/+/result');
  const before = await scrape(port);

  const okId = uniqueId('ok');
  await sendCommand(guard, GATE_A, 'unlock', { id: okId, duration_ms: 200 });
  const ok = await resultFor(results, okId);
  assert.equal(ok.status, 'ok');
  const forbiddenId = uniqueId('forbidden');
  await sendCommand(viewer, GATE_A, 'unlock', { id: forbiddenId });
  assert.equal((await resultFor(results, forbiddenId)).code, 'forbidden');
  const unknownId = uniqueId('unknown');
  await guard.publishAsync('site/hq/gate/no-such-gate/unlock', JSON.stringify({ id: unknownId }), { qos: 1 });
  assert.equal((await resultFor(results, unknownId)).code, 'unknown_device');
  const badId = uniqueId('bad');
  await sendCommand(guard, TURNSTILE, 'pass', { id: badId, direction: 'sideways' });
  assert.equal((await resultFor(results, badId)).code, 'bad_request');
  // The same id again: answered with the first result, counted as a duplicate, not as a command.
  await sendCommand(guard, GATE_A, 'unlock', { id: okId, duration_ms: 200 });
  await resultsFor(results, okId, 2);

  const response = await httpRequest(port, '/metrics');
  assert.equal(response.status, 200);
  assert.match(String(response.headers['content-type']), /^text\/plain; version=0\.0\.4/);
  const samples = await scrape(port);
  const commands = (labels: Record<string, string>) => sumOf(samples, 'gatehouse_commands_total', labels);
  assert.equal(commands({ kind: 'gate', command: 'unlock', source: 'local', status: 'ok', code: 'ok' }), 1);
  assert.equal(commands({ kind: 'gate', command: 'unlock', source: 'local', status: 'error', code: 'forbidden' }), 1);
  assert.equal(commands({ kind: 'gate', command: 'unlock', status: 'error', code: 'unknown_device' }), 1);
  assert.equal(commands({ kind: 'turnstile', command: 'pass', status: 'error', code: 'bad_request' }), 1);
  assert.equal(commands({}), 4, 'the duplicate is not a second command');
  assert.equal(valueOf(samples, 'gatehouse_command_duplicates_total', { kind: 'gate', command: 'unlock', source: 'local' }), 1);

  // The histogram: one observation of the ok unlock, equal to the latency its result reported.
  const okLabels = { kind: 'gate', command: 'unlock', status: 'ok' };
  assert.equal(valueOf(samples, 'gatehouse_command_duration_seconds_count', okLabels), 1);
  assert.ok(Math.abs(valueOf(samples, 'gatehouse_command_duration_seconds_sum', okLabels) - ok.timing.total_ms / 1000) < 1e-9);
  const buckets = select(samples, 'gatehouse_command_duration_seconds_bucket', okLabels);
  assert.deepEqual(buckets.map((b) => b.labels.le), [...COMMAND_DURATION_BUCKETS.map(String), '+Inf']);
  buckets.forEach((b, i) => assert.ok(i === 0 || b.value >= buckets[i - 1].value, 'buckets are cumulative'));
  assert.equal(buckets.at(-1)!.value, 1);
  const seconds = ok.timing.total_ms / 1000;
  for (const b of buckets) assert.equal(b.value, b.labels.le === '+Inf' || seconds <= Number(b.labels.le) ? 1 : 0, `bucket le=${b.labels.le}`);
  assert.equal(valueOf(samples, 'gatehouse_command_duration_seconds_count', { kind: 'gate', command: 'unlock', status: 'error' }), 2);

  for (const ref of [GATE_A, GATE_B, TURNSTILE]) assert.equal(valueOf(samples, 'gatehouse_device_online', { kind: ref.kind, device: ref.id }), 1, `${ref.id} online`);
  assert.equal(select(samples, 'gatehouse_device_online').length, 3);
  assert.ok(valueOf(samples, 'gatehouse_broker_clients') >= 2, 'guard and viewer are connected');
  // 5 command PUBLISHes reached the broker between the scrapes; the gateway published 5 results at least.
  assert.ok(valueOf(samples, 'gatehouse_broker_messages_received_total') - valueOf(before, 'gatehouse_broker_messages_received_total') >= 5);
  assert.ok(valueOf(samples, 'gatehouse_broker_messages_published_total') - valueOf(before, 'gatehouse_broker_messages_published_total') >= 5);
  assert.equal(valueOf(samples, 'gatehouse_build_info').valueOf(), 1);
  assert.match(select(samples, 'gatehouse_build_info')[0].labels.version, /^\d+\.\d+\.\d+/);
  assert.ok(valueOf(samples, 'gatehouse_uptime_seconds') >= 0);
  assert.equal(valueOf(samples, 'gatehouse_uplink_state', { state: 'disabled' }), 1);
  assert.equal(valueOf(samples, 'gatehouse_uplink_state', { state: 'up' }), 0);
  assert.equal(valueOf(samples, 'gatehouse_uplink_connected'), 0);
  assert.equal(valueOf(samples, 'gatehouse_outbox_messages'), 0);
  assert.equal(valueOf(samples, 'gatehouse_healthy'), 1);
  assert.equal(valueOf(samples, 'gatehouse_database_writable'), 1);
  assert.ok(valueOf(samples, 'gatehouse_event_loop_lag_recent_max_seconds') >= 0);
  // prom-client's process metrics under their standard names.
  assert.ok(valueOf(samples, 'process_cpu_user_seconds_total') > 0);
  assert.ok(valueOf(samples, 'process_resident_memory_bytes') > 0);
  assert.equal(select(samples, 'nodejs_eventloop_lag_seconds').length, 1);
});

test('a unit that stops answering: poll failures by code, device_online 0, and back online', async (t) => {
  const gw = await startGateway(t, device);
  const port = gw.gateway.metricsPort!;
  const viewer = await clientAs(t, gw.port, 'viewer');
  const availability = await watch(viewer, topicOf(GATE_B, 'availability'));
  await availability.waitFor((m) => m.payload.toString() === 'online', WAIT_MS);

  await device.mute(GATE_B.unit, true);
  t.after(() => device.mute(GATE_B.unit, false).catch(() => undefined));
  const offline = await availability.waitFor((m) => m.payload.toString() === 'offline', WAIT_MS);
  const down = await scrape(port);
  assert.equal(valueOf(down, 'gatehouse_device_online', { kind: 'gate', device: GATE_B.id }), 0);
  assert.equal(valueOf(down, 'gatehouse_device_online', { kind: 'gate', device: GATE_A.id }), 1, 'the other gate on the same link is unaffected');
  // offline_after is 2 in the harness: at least two timed-out polls, all of them on gate-b.
  assert.ok(valueOf(down, 'gatehouse_device_poll_failures_total', { kind: 'gate', device: GATE_B.id, code: 'timeout' }) >= 2);
  assert.equal(sumOf(down, 'gatehouse_device_poll_failures_total', { device: GATE_A.id }), 0);
  assert.equal(valueOf(down, 'gatehouse_device_availability_changes_total', { kind: 'gate', device: GATE_B.id, availability: 'offline' }), 1);

  await device.mute(GATE_B.unit, false);
  await availability.waitFor((m) => availability.messages.indexOf(m) > availability.messages.indexOf(offline) && m.payload.toString() === 'online', WAIT_MS);
  const samples = await scrape(port);
  assert.equal(valueOf(samples, 'gatehouse_device_online', { kind: 'gate', device: GATE_B.id }), 1);
  assert.equal(valueOf(samples, 'gatehouse_device_availability_changes_total', { kind: 'gate', device: GATE_B.id, availability: 'online' }), 1);
  assert.ok(valueOf(samples, 'gatehouse_device_poll_failures_total', { kind: 'gate', device: GATE_B.id, code: 'timeout' }) >= 2, 'a counter never goes back');
});

test('the broker\'s security counters: a refused login is counted, open connections are a gauge', async (t) => {
  const gw = await startGateway(t, device);
  const port = gw.gateway.metricsPort!;
  const before = await scrape(port);
  const failuresBefore = sumOf(before, 'gatehouse_security_events_total', { type: 'login_failures' });
  await assert.rejects(connectClient({ port: gw.port, username: 'guard', password: 'not-the-password' }));
  const guard = await clientAs(t, gw.port, 'guard');
  assert.ok(guard.connected);
  const samples = await scrape(port);
  assert.equal(valueOf(samples, 'gatehouse_security_events_total', { type: 'login_failures' }), failuresBefore + 1);
  assert.ok(valueOf(samples, 'gatehouse_security_current', { type: 'open_connections' }) >= 1);
  assert.equal(select(samples, 'gatehouse_security_events_total', { type: 'open_connections' }).length, 0, 'a figure that can go down is no counter');
});

/** Scrapes until `probe` holds. */
function scrapeUntil(port: number, what: string, probe: (samples: Sample[]) => boolean): Promise<Sample[]> {
  return until(what, async () => {
    const samples = await scrape(port);
    return probe(samples) && samples;
  }, WAIT_MS, 100);
}

test('uplink: state and connections follow the cloud link; the outbox fills, drops telemetry and drains', async (t) => {
  const cloud = await startCloudBroker();
  t.after(() => cloud.dispose());
  const MAX = 30;
  const gw = await startUplinkGateway(t, device, cloud.url, { uplink: { forward: ['site/hq/app/#'], max_messages: MAX } });
  const port = gw.gateway.metricsPort!;
  const isUp = (s: Sample[]) => valueOf(s, 'gatehouse_uplink_state', { state: 'up' }) === 1;
  const up = await scrapeUntil(port, 'the cloud link up', isUp);
  assert.equal(valueOf(up, 'gatehouse_uplink_connected'), 1);
  assert.equal(valueOf(up, 'gatehouse_uplink_connections_total'), 1);
  assert.equal(valueOf(up, 'gatehouse_uplink_state', { state: 'disabled' }), 0);

  await cloud.stop();
  const down = await scrapeUntil(port, 'the cloud link down', (s) => !isUp(s));
  assert.equal(valueOf(down, 'gatehouse_uplink_connected'), 0);
  const local = await clientAs(t, gw.port, 'guard');
  for (let i = 1; i <= 2 * MAX; i++) await local.publishAsync('site/hq/app/feed', String(i), { qos: 1 });
  const full = await scrapeUntil(port, 'telemetry dropped', (s) => sumOf(s, 'gatehouse_outbox_dropped_total', { class: 'telemetry' }) > 0);
  const depth = valueOf(full, 'gatehouse_outbox_messages');
  assert.ok(depth > 0 && depth <= MAX, `outbox depth ${depth} within 1..${MAX}`);
  assert.ok(valueOf(full, 'gatehouse_outbox_bytes') > 0);
  assert.equal(sumOf(full, 'gatehouse_outbox_dropped_total', { class: 'result' }), 0);

  await cloud.start();
  const drained = await scrapeUntil(port, 'the outbox drained on a second connection', (s) => isUp(s) && valueOf(s, 'gatehouse_outbox_messages') === 0);
  assert.equal(valueOf(drained, 'gatehouse_uplink_connections_total'), 2);
  assert.equal(valueOf(drained, 'gatehouse_outbox_bytes'), 0);
  assert.ok(sumOf(drained, 'gatehouse_outbox_dropped_total', { class: 'telemetry' }) > 0, 'drops stay counted');
});

test('unknown paths are 404, other methods 405, HEAD answers without a body', async (t) => {
  const gw = await startGateway(t, device);
  const port = gw.gateway.metricsPort!;
  assert.equal((await httpRequest(port, '/')).status, 404);
  assert.equal((await httpRequest(port, '/metrics/x')).status, 404);
  const post = await httpRequest(port, '/metrics', { method: 'POST' });
  assert.equal(post.status, 405);
  assert.equal(post.headers.allow, 'GET, HEAD');
  const head = await httpRequest(port, '/metrics', { method: 'HEAD' });
  assert.equal(head.status, 200);
  assert.equal(head.body, '');
  assert.equal((await httpRequest(port, '/metrics?x=1')).status, 200, 'a query string is ignored');
});

test('metrics disabled: no server; port taken: the gateway runs on without metrics', async (t) => {
  const disabled = await startGateway(t, device, { metrics: { enabled: false } });
  assert.equal(disabled.gateway.metricsPort, undefined);
  await disabled.stop();

  const holder = createServer();
  await new Promise<void>((resolve) => holder.listen({ host: '127.0.0.1', port: 0 }, resolve));
  t.after(() => new Promise<void>((resolve) => holder.close(() => resolve())));
  const taken = (holder.address() as { port: number }).port;
  const gw = await startGateway(t, device, { metrics: { port: taken } });
  assert.equal(gw.gateway.metricsPort, undefined, 'no metrics server');
  // The gateway itself is up: it answers a command.
  const guard = await clientAs(t, gw.port, 'guard');
  const results = await watch(guard, 'site/hq/+/+/result');
  const id = uniqueId('still-up');
  await sendCommand(guard, GATE_A, 'lock', { id });
  assert.equal((await resultFor(results, id)).status, 'ok');
});

// Its poll-failure and availability-change counters must not stay in /metrics for the life of the
// process (a ghost device on dashboards, whose frozen counters never alert again).
test('a reload that removes a device removes its poll-failure and availability series', async (t) => {
  const gw = await startGateway(t, device);
  const port = gw.gateway.metricsPort!;
  const viewer = await clientAs(t, gw.port, 'viewer');
  const availability = await watch(viewer, `site/hq/+/+/availability`);
  await availability.waitFor((m) => m.topic === topicOf(GATE_B, 'availability') && m.payload.toString() === 'online', WAIT_MS);

  // Gate B stops answering: poll failures and an availability change are counted for it.
  await device.mute(GATE_B.unit, true);
  t.after(() => device.mute(GATE_B.unit, false).catch(() => undefined));
  await availability.waitFor((m) => m.topic === topicOf(GATE_B, 'availability') && m.payload.toString() === 'offline', WAIT_MS);
  const gateBSeries = (samples: Awaited<ReturnType<typeof scrape>>) => samples.filter((s) => s.labels.device === GATE_B.id).map((s) => s.name);
  const before = await scrape(port);
  assert.ok(gateBSeries(before).includes('gatehouse_device_poll_failures_total'), 'the precondition: gate B has poll failures');
  assert.ok(gateBSeries(before).includes('gatehouse_device_availability_changes_total'));
  // Gate A has an availability series of its own that must survive.
  assert.ok(select(before, 'gatehouse_device_online', { device: GATE_A.id }).length === 1);

  const document = await configDocument(device.port, gw.dataDir);
  document.devices = (document.devices as { id: string }[]).filter((d) => d.id !== GATE_B.id);
  const plan = await gw.gateway.reload(loadHarnessConfig(document));
  assert.deepEqual(plan.devices.removed, [GATE_B.id]);

  const afterReload = await scrape(port);
  assert.deepEqual(gateBSeries(afterReload), [], 'no series of the removed gate B');
  assert.equal(select(afterReload, 'gatehouse_device_online', { device: GATE_A.id }).length, 1, 'gate A keeps its series');
});
