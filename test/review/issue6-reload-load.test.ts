// Review of issue 6: a reload under load on the devices it touches. Commands keep arriving for a gate
// that the reload removes, a turnstile it changes, a gate it adds and a gate it leaves alone; every
// command gets exactly one result (none dropped, none doubled), and the untouched gate answers ok.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { CommandResult } from '../../src/commands/result.js';
import { topics } from '../../src/topics.js';
import { parseResult, uniqueId } from '../support/gateway.js';
import { isLog, siteFiles, spawnService } from '../support/gateway-process.js';
import { GATE_A, GATE_B, SITE, TURNSTILE, USERS } from '../support/site.js';
import { until } from '../support/wait.js';
import { startModbusDevice, type ModbusDevice } from '../support/modbus-device.js';
import { connectClient, subscribeCollect } from '../support/mqtt-client.js';

const WAIT_MS = 30_000;
const GATE_C = { kind: 'gate', id: 'gate-c', unit: 4 } as const;
type Ref = { kind: string; id: string };
type Doc = Record<string, unknown> & { devices: Record<string, unknown>[] };

let device: ModbusDevice;
before(async () => {
  device = await startModbusDevice({ units: [GATE_A.unit, GATE_B.unit, TURNSTILE.unit, GATE_C.unit] });
});
after(() => device?.stop());

test('SIGHUP while commands flow to removed, changed, added and untouched devices: exactly one result each', async (t) => {
  const site = await siteFiles(t, device.port);
  const gateway = spawnService(t, site.file);
  await gateway.waitForLog('online', isLog('gatehouse online'));
  const client = await connectClient({ port: site.brokerPort, ...USERS.guard });
  t.after(() => client.endAsync(true));
  const results = await subscribeCollect(client, `site/${SITE}/+/+/result`);

  const sent: { id: string; ref: Ref }[] = [];
  let loading = true;
  const worker = async (ref: Ref, command: string, args: Record<string, unknown>) => {
    while (loading) {
      const id = uniqueId(`${ref.id}-${command}`);
      sent.push({ id, ref });
      await client.publishAsync(topics.command(SITE, ref.kind, ref.id, command), JSON.stringify({ id, ...args }), { qos: 1 });
      await results.waitFor((m) => parseResult(m).id === id, WAIT_MS).catch(() => assert.fail(`no result for ${id} (${ref.id})`));
    }
  };
  const workers = Promise.all([
    worker(GATE_A, 'unlock', { duration_ms: 100 }),
    worker(GATE_A, 'unlock', { duration_ms: 100 }),
    worker(GATE_B, 'unlock', { duration_ms: 100 }),
    worker(GATE_B, 'unlock', { duration_ms: 100 }),
    worker(TURNSTILE, 'pass', { direction: 'in' }),
    worker(GATE_C, 'unlock', { duration_ms: 100 }),
  ]);
  await until('load under way', () => sent.length >= 30, WAIT_MS);

  const next = structuredClone(site.document) as Doc;
  next.devices = next.devices.filter((d) => d.id !== GATE_B.id);
  next.devices.find((d) => d.id === TURNSTILE.id)!.pulse_ms = 200;
  next.devices.push({ ...structuredClone(next.devices[0]), id: GATE_C.id, name: 'Gate C', options: { unit: GATE_C.unit, outputs: { unlock: { coil: 0 } } } });
  site.write(next);
  gateway.signal('SIGHUP');
  await gateway.waitForLog('reloaded', isLog('configuration reloaded'));
  const afterReload = sent.length;
  await until('more load after the reload', () => sent.length >= afterReload + 30, WAIT_MS);
  loading = false;
  await workers;
  // A last round trip: any second result of an earlier command was published before this one's.
  const last = uniqueId('last');
  await client.publishAsync(topics.command(SITE, GATE_A.kind, GATE_A.id, 'lock'), JSON.stringify({ id: last }), { qos: 1 });
  await results.waitFor((m) => parseResult(m).id === last, WAIT_MS);

  const byId = new Map<string, CommandResult[]>();
  for (const result of results.messages.map(parseResult)) byId.set(result.id, [...(byId.get(result.id) ?? []), result]);
  const codes: Record<string, Record<string, number>> = {};
  for (const { id, ref } of sent) {
    const mine = byId.get(id) ?? [];
    assert.equal(mine.length, 1, `${id} (${ref.id}): ${mine.length} results ${JSON.stringify(mine)}`);
    const code = mine[0].code ?? 'ok';
    (codes[ref.id] ??= {})[code] = (codes[ref.id][code] ?? 0) + 1;
    if (ref.id === GATE_A.id) assert.equal(code, 'ok', `${id} on the untouched gate: ${mine[0].message}`);
  }
  t.diagnostic(`result codes by device: ${JSON.stringify(codes)}`);
  // The reload did take effect under the load: gate B ended unknown, gate C got commandable.
  assert.ok(codes[GATE_B.id]?.unknown_device > 0, 'commands for the removed gate B end as unknown_device');
  assert.ok(codes[GATE_C.id]?.ok > 0, 'the added gate C answers ok');

  gateway.signal('SIGTERM');
  assert.deepEqual(await gateway.exit(), { code: 0, signal: null });
});
