// Review of issue 6: a device removed by a reload takes its metric series with it. Its poll-failure
// and availability-change counters must not stay in /metrics for the life of the process (a ghost
// device on dashboards, whose frozen counters never alert again); the devices that stay keep theirs.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { select } from '../../src/metrics/text-format.js';
import { startModbusDevice, type ModbusDevice } from '../support/modbus-device.js';
import { clientAs, startGateway, topicOf, watch } from '../support/gateway.js';
import { GATE_A, GATE_B, UNITS, configDocument, loadHarnessConfig, resetDevice } from '../support/site.js';
import { scrape } from '../metrics/scrape.js';

const WAIT_MS = 15_000;

let device: ModbusDevice;
before(async () => {
  device = await startModbusDevice({ units: UNITS });
});
after(() => device?.stop());

test('a reload that removes a device removes its poll-failure and availability series', async (t) => {
  await resetDevice(device);
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
