// The barrier end to end: a real Gateway over Modbus TCP, first against Debian's pymodbus device
// (the test puts vehicles on the loop by setting discrete input 0), then against the site
// simulator (its arm takes time to travel, its cars drive over the loop). The arm never comes down
// while the loop is occupied: not on start, not at the end of an open, not on a close command.
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test, type TestContext } from 'node:test';
import { SiteSimulator } from '../../src/simulator/site-simulator.js';
import { topics } from '../../src/topics.js';
import { clientAs, parseResult, recordGatewayPublishes, startGatewayFrom, tempDataDir, uniqueId, waitForCoil, watch, writesOf, type PublishRecord, type RunningGateway } from '../support/gateway.js';
import { startModbusDevice, type ModbusDevice } from '../support/modbus-device.js';
import { SITE, TRANSPORT, configDocument } from '../support/site.js';
import { until } from '../support/wait.js';

const BARRIER = { id: 'garage', unit: 4 } as const;
const KIND = 'barrier';
const OBSTRUCTED_AFTER_MS = 1000; // the smallest the settings allow
const eventTopic = topics.event(SITE, KIND, BARRIER.id);
const stateTopic = topics.state(SITE, KIND, BARRIER.id);

function barrierEntry(extra: Record<string, unknown> = {}, inputs: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id: BARRIER.id,
    kind: KIND,
    name: 'Garage barrier',
    driver: 'modbus',
    transport: TRANSPORT,
    poll_ms: 100,
    offline_after: 2,
    command_timeout_ms: 2000,
    on_start: 'close',
    open_ms: 1000,
    max_open_ms: 120_000,
    obstructed_after_ms: OBSTRUCTED_AFTER_MS,
    options: { unit: BARRIER.unit, outputs: { open: { coil: 0 } }, inputs: { loop: { discrete_input: 0 }, ...inputs } },
    ...extra,
  };
}

async function startBarrierGateway(t: TestContext, modbusPort: number, entry: Record<string, unknown>): Promise<RunningGateway> {
  const document = await configDocument(modbusPort, tempDataDir(t));
  document.devices = [entry];
  return startGatewayFrom(t, document);
}

/** Events and states of the barrier as the gateway published them, from its first publish on. */
function barrierNews(published: PublishRecord[]) {
  const payloads = (topic: string) => published.filter((p) => p.topic === topic).map((p) => JSON.parse(p.payload) as Record<string, unknown>);
  return {
    events: () => payloads(eventTopic).map((e) => e.event as string),
    event: (type: string) => until(`a ${type} event`, () => payloads(eventTopic).find((e) => e.event === type)),
    /** Waits until the latest state published satisfies `pred`. */
    state: (what: string, pred: (state: Record<string, unknown>) => boolean) =>
      until(`state: ${what}`, () => {
        const latest = payloads(stateTopic).at(-1);
        return latest !== undefined && pred(latest) && latest;
      }),
    states: () => payloads(stateTopic),
  };
}

/** Sends a barrier command as the guard and returns its result. */
async function command(t: TestContext, gw: RunningGateway, name: string, args: Record<string, unknown> = {}) {
  const client = await clientAs(t, gw.port, 'guard');
  const results = await watch(client, topics.result(SITE, KIND, BARRIER.id));
  const id = uniqueId(name);
  await client.publishAsync(topics.command(SITE, KIND, BARRIER.id, name), JSON.stringify({ id, ...args }), { qos: 1 });
  return parseResult(await results.waitFor((m) => parseResult(m).id === id));
}

describe('barrier against a pymodbus device', () => {
  let device: ModbusDevice;
  before(async () => {
    device = await startModbusDevice({ units: [BARRIER.unit] });
  });
  after(() => device?.stop());
  beforeEach(async () => {
    await device.set(BARRIER.unit, 'co', 0, [false]);
    await device.set(BARRIER.unit, 'di', 0, [false, false, false]);
  });
  const setLoop = (occupied: boolean) => device.set(BARRIER.unit, 'di', 0, [occupied]);
  const coilWrites = (from: number) => writesOf(device, BARRIER.unit, from).filter((w) => w.table === 'co').map((w) => w.values[0]);

  test('safe state on start: an arm left up is lowered before the gateway says online', async (t) => {
    await device.set(BARRIER.unit, 'co', 0, [true]);
    const mark = device.writes.length;
    const published = recordGatewayPublishes(t);
    await startBarrierGateway(t, device.port, barrierEntry());
    const lowered = await waitForCoil(device, BARRIER.unit, 0, false, mark);
    const online = await until('the barrier online', () => published.find((p) => p.topic === topics.availability(SITE, KIND, BARRIER.id) && p.payload === 'online'));
    assert.ok(lowered.t <= online.at, 'lowered before the barrier was announced online');
    const { updated_at: _at, ...first } = await until('its first state', () => barrierNews(published).states()[0]);
    assert.deepEqual(first, { position: 'closed', vehicle_present: false });
  });

  test('safe state on start with a vehicle on the loop: left up, obstructed, then vehicle_passed and lowered once the loop clears', async (t) => {
    await device.set(BARRIER.unit, 'co', 0, [true]);
    await setLoop(true);
    const mark = device.writes.length;
    const published = recordGatewayPublishes(t);
    await startBarrierGateway(t, device.port, barrierEntry());
    const news = barrierNews(published);
    await news.state('up, over the vehicle', (s) => s.position === 'open' && s.vehicle_present === true);
    const obstructed = await news.event('obstructed');
    assert.ok((obstructed.waited_ms as number) >= OBSTRUCTED_AFTER_MS - 5);
    assert.deepEqual(coilWrites(mark), [], 'nothing lowered onto the vehicle');

    await setLoop(false);
    await waitForCoil(device, BARRIER.unit, 0, false, mark);
    assert.deepEqual(news.events(), ['obstructed', 'vehicle_passed']);
    await news.state('down, loop clear', (s) => s.position === 'closed' && s.vehicle_present === false);
  });

  test('close waits for the loop to clear, says obstructed, and closes after the vehicle passed', async (t) => {
    const published = recordGatewayPublishes(t);
    const gw = await startBarrierGateway(t, device.port, barrierEntry());
    const news = barrierNews(published);
    const mark = device.writes.length;
    const opened = await command(t, gw, 'open', { duration_ms: 60_000 });
    assert.equal(opened.status, 'ok');
    assert.equal(typeof opened.data?.auto_close_at, 'number');
    await waitForCoil(device, BARRIER.unit, 0, true, mark);

    await setLoop(true);
    await news.state('a vehicle on the loop', (s) => s.vehicle_present === true);
    const closed = await command(t, gw, 'close');
    assert.equal(closed.status, 'ok');
    assert.deepEqual(closed.data, { waiting_for_vehicle: true });
    await news.event('obstructed');
    assert.deepEqual(coilWrites(mark), [true], 'the arm stayed up over the vehicle');

    await setLoop(false);
    await waitForCoil(device, BARRIER.unit, 0, false, mark);
    assert.deepEqual(news.events(), ['obstructed', 'vehicle_passed']);
    await news.state('down', (s) => s.position === 'closed');
  });

  test('the automatic close after an open waits for the vehicle on the loop as well', async (t) => {
    const published = recordGatewayPublishes(t);
    const gw = await startBarrierGateway(t, device.port, barrierEntry());
    const news = barrierNews(published);
    await setLoop(true); // a car waiting at the barrier
    await news.state('a vehicle on the loop', (s) => s.vehicle_present === true);
    const mark = device.writes.length;
    assert.equal((await command(t, gw, 'open', { duration_ms: 1000 })).status, 'ok');
    await news.event('obstructed');
    assert.deepEqual(coilWrites(mark), [true], 'open_ms passed, and still the arm stayed up');
    await setLoop(false);
    await waitForCoil(device, BARRIER.unit, 0, false, mark);
    assert.deepEqual(news.events(), ['obstructed', 'vehicle_passed']);
  });

  test('an open longer than max_open_ms is refused with bad_request and moves nothing', async (t) => {
    const gw = await startBarrierGateway(t, device.port, barrierEntry({ max_open_ms: 5000 }));
    const mark = device.writes.length;
    const result = await command(t, gw, 'open', { duration_ms: 5001 });
    assert.equal(result.status, 'error');
    assert.equal(result.code, 'bad_request');
    assert.match(result.message, /duration_ms.*between 1000 and 5000/);
    assert.deepEqual(coilWrites(mark), []);
  });
});

describe('barrier against the site simulator', () => {
  async function simulated(t: TestContext, vehicleProbability: number) {
    const sim = new SiteSimulator({
      devices: [{ unit: BARRIER.unit, kind: 'barrier' }],
      seed: 7,
      // Slow enough for polls every 100 ms to see the arm on its way and the car on the loop.
      timing: { barrierTravelMs: 1000, vehicleProbability, vehicleApproachMs: [50, 100], vehicleOnLoopMs: [1000, 1500] },
    });
    const { port } = await sim.start();
    t.after(() => sim.stop());
    const published = recordGatewayPublishes(t);
    const gw = await startBarrierGateway(t, port, barrierEntry({}, { arm_open: { discrete_input: 1 }, arm_closed: { discrete_input: 2 } }));
    const news = barrierNews(published);
    await news.state('down at rest', (s) => s.position === 'closed' && s.vehicle_present === false);
    return { sim, gw, news };
  }

  test('the arm travels up; a car on the loop holds the automatic close (obstructed) until it drove on; the arm never hits it', async (t) => {
    const { sim, gw, news } = await simulated(t, 0);
    sim.vehicleArrives(BARRIER.unit); // a car waiting at the barrier, until it is told to drive on
    await news.state('a vehicle on the loop', (s) => s.vehicle_present === true);
    assert.equal((await command(t, gw, 'open', { duration_ms: 1000 })).status, 'ok');
    await news.state('up, by its limit switch', (s) => s.position === 'open');
    assert.ok(news.states().some((s) => s.position === 'moving'), 'seen on its way up');
    await news.event('obstructed');
    assert.equal(sim.arm(BARRIER.unit), 'open', 'open_ms is over, and the arm is still up');
    sim.vehicleLeaves(BARRIER.unit);
    await news.event('vehicle_passed');
    await news.state('down again', (s) => s.position === 'closed');
    assert.equal(sim.barrierHits(BARRIER.unit), 0);
  });

  test('simulated traffic: once the arm is up a car comes and drives through; close lowers the arm behind it', async (t) => {
    const { sim, gw, news } = await simulated(t, 1);
    assert.equal((await command(t, gw, 'open', { duration_ms: 60_000 })).status, 'ok');
    const passed = await news.event('vehicle_passed');
    assert.ok((passed.occupied_ms as number) > 0);
    assert.deepEqual((await command(t, gw, 'close')).data, { waiting_for_vehicle: false });
    await news.state('down', (s) => s.position === 'closed');
    assert.equal(sim.barrierHits(BARRIER.unit), 0);
    assert.deepEqual(news.events(), ['vehicle_passed']);
  });
});
