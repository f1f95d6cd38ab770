// The site simulator driven over real Modbus TCP by modbus-serial's client, with short timings
// and fixed seeds. Register map under test: gate coil 0 / discrete input 0; turnstile coils 0..2,
// input registers 0..1, discrete input 0; barrier coil 0, discrete inputs 0..2 (Modbus Application
// Protocol V1.1b3, PDU addresses).
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import ModbusRTU from 'modbus-serial';
import { SiteSimulator, type SiteSimulatorOptions } from '../../src/simulator/site-simulator.js';
import { SimulatorError } from '../../src/simulator/errors.js';
import { findFreePort } from '../../src/simulator/free-port.js';
import { until } from '../support/wait.js';

type Client = InstanceType<typeof ModbusRTU.default>;

const QUICK = {
  gateApproachMs: [20, 60],
  gateOpenProbability: 1,
  doorOpenMs: [100, 200],
  heldOpenMs: 200,
  forcedOpenMs: [100, 200],
  turnstileApproachMs: [20, 60],
  passProbability: 1,
  armTurnMs: 50,
  freePassageEveryMs: [20, 80],
  barrierTravelMs: 100,
  vehicleProbability: 1,
  vehicleApproachMs: [20, 60],
  vehicleOnLoopMs: [100, 200],
} as const;

interface LogEntry {
  msg: string | undefined;
  obj: object;
  /** When it was logged, epoch ms. */
  at: number;
}

async function startSimulator(
  t: TestContext,
  opts: Partial<SiteSimulatorOptions> & Pick<SiteSimulatorOptions, 'devices'>,
): Promise<{ sim: SiteSimulator; port: number; logs: LogEntry[] }> {
  const logs: LogEntry[] = [];
  const record = (obj: object, msg?: string) => logs.push({ obj, msg, at: Date.now() });
  const sim = new SiteSimulator({
    seed: 42,
    incidentsPerMinute: 0,
    log: { info: record, debug: record },
    ...opts,
    timing: { ...QUICK, ...opts.timing },
  });
  const { port } = await sim.start();
  t.after(() => sim.stop());
  return { sim, port, logs };
}

async function connect(t: TestContext, port: number, unit: number): Promise<Client> {
  const client = new ModbusRTU.default();
  await client.connectTCP('127.0.0.1', { port });
  client.setTimeout(2000);
  client.setID(unit);
  t.after(() => closeClient(client));
  return client;
}

function closeClient(client: Client): Promise<void> {
  if (!client.isOpen) return Promise.resolve();
  return new Promise((resolve) => {
    // The socket may already be gone (simulator stopped first); do not wait on a close event forever.
    const fallback = setTimeout(resolve, 1000);
    client.close(() => {
      clearTimeout(fallback);
      resolve();
    });
  });
}

async function doorOpen(client: Client): Promise<boolean> {
  return (await client.readDiscreteInputs(0, 1)).data[0];
}

async function lockReleased(client: Client): Promise<boolean> {
  return (await client.readCoils(0, 1)).data[0];
}

async function passages(client: Client): Promise<{ in: number; out: number }> {
  const [passagesIn, passagesOut] = (await client.readInputRegisters(0, 2)).data;
  return { in: passagesIn, out: passagesOut };
}

async function pulse(client: Client, coil: number): Promise<void> {
  await client.writeCoil(coil, true);
  await client.writeCoil(coil, false);
}

/** Barrier discrete inputs 0..2: loop, open limit, closed limit. */
async function barrierInputs(client: Client): Promise<{ loop: boolean; open: boolean; closed: boolean }> {
  const [loop, open, closed] = (await client.readDiscreteInputs(0, 3)).data;
  return { loop, open, closed };
}

function modbusException(code: number) {
  return (err: unknown) => (err as { modbusCode?: number }).modbusCode === code;
}

test('gate: after an unlock the door opens, then closes by itself', async (t) => {
  const { sim, port, logs } = await startSimulator(t, { devices: [{ unit: 1, kind: 'gate' }] });
  const gate = await connect(t, port, 1);

  assert.equal(await doorOpen(gate), false);
  await gate.writeCoil(0, true);
  assert.equal(await lockReleased(gate), true, 'coil 0 reads back the unlock');
  await until('the door to open', () => doorOpen(gate));
  assert.equal(sim.door(1), 'open');
  await gate.writeCoil(0, false);
  assert.equal(await lockReleased(gate), false);
  await until('the door to close after the relock', async () => !(await doorOpen(gate)));
  assert.equal(sim.door(1), 'closed');
  assert.ok(logs.some((l) => l.msg === 'door 1 opened'));
  assert.ok(logs.some((l) => l.msg === 'door 1 closed'));
});

test('gate: nobody comes through when the odds say so', async (t) => {
  const { port, logs } = await startSimulator(t, {
    devices: [{ unit: 1, kind: 'gate' }],
    timing: { gateOpenProbability: 0 },
  });
  const gate = await connect(t, port, 1);
  await gate.writeCoil(0, true);
  await until('the no-show', () => logs.some((l) => l.msg === 'nobody came through gate 1'));
  assert.equal(await doorOpen(gate), false);
});

test('gate: a forced door shows open while coil 0 stays false (locked)', async (t) => {
  const { sim, port, logs } = await startSimulator(t, { devices: [{ unit: 1, kind: 'gate' }] });
  const gate = await connect(t, port, 1);

  sim.forceDoor(1);
  assert.equal(await doorOpen(gate), true);
  assert.equal(await lockReleased(gate), false);
  assert.ok(logs.some((l) => l.msg === 'door 1 forced open'));
  await until('the forced door to close', async () => !(await doorOpen(gate)));
});

test('gate: a held-open incident opens the door at the next unlock and keeps it for heldOpenMs', async (t) => {
  // Ordinary passages never happen here and would stay open for a minute: only the held-open
  // path can open the door and close it again within the wait.
  const heldOpenMs = 300;
  const { sim, port, logs } = await startSimulator(t, {
    devices: [{ unit: 1, kind: 'gate' }],
    timing: { gateOpenProbability: 0, doorOpenMs: [60_000, 60_000], heldOpenMs },
  });
  const gate = await connect(t, port, 1);

  sim.holdDoor(1);
  await gate.writeCoil(0, true);
  await until('the held door to open', () => doorOpen(gate));
  await gate.writeCoil(0, false);
  await until('the held door to close', async () => !(await doorOpen(gate)));
  // How long it was held: from the simulator's own opening to its closing (polls would blur it).
  const opened = logs.find((l) => l.msg === 'door 1 opened and held open');
  const closed = logs.find((l) => l.msg === 'door 1 closed');
  assert.ok(opened && closed, JSON.stringify(logs.map((l) => l.msg)));
  const heldMs = closed.at - opened.at;
  assert.ok(heldMs >= heldOpenMs - 5, `held open ${heldMs} ms; heldOpenMs is ${heldOpenMs}`);
  assert.ok(heldMs < 60_000, 'not an ordinary opening');
});

test('gate: random incidents force a locked door open', async (t) => {
  const { port, logs } = await startSimulator(t, {
    devices: [{ unit: 1, kind: 'gate' }],
    incidentsPerMinute: 600,
  });
  const gate = await connect(t, port, 1);
  await until('a forced-door incident', async () => (await doorOpen(gate)) && !(await lockReleased(gate)));
  assert.ok(logs.some((l) => l.msg === 'door 1 forced open'));
});

test('turnstile: a pulse on pass_in or pass_out increments the matching counter', async (t) => {
  const { sim, port, logs } = await startSimulator(t, { devices: [{ unit: 5, kind: 'turnstile' }] });
  const turnstile = await connect(t, port, 5);

  assert.deepEqual(await passages(turnstile), { in: 0, out: 0 });
  await pulse(turnstile, 0);
  await until('a passage in', async () => (await passages(turnstile)).in === 1);
  assert.deepEqual(await passages(turnstile), { in: 1, out: 0 });

  await pulse(turnstile, 1);
  await until('a passage out', async () => (await passages(turnstile)).out === 1);
  assert.deepEqual(await passages(turnstile), { in: 1, out: 1 });
  assert.deepEqual(sim.counters(5), { in: 1, out: 1 });
  assert.ok(logs.some((l) => l.msg === 'passage in'));
  assert.ok(logs.some((l) => l.msg === 'passage out'));
});

test('turnstile: holding pass_in on authorises one passage only (rising edge)', async (t) => {
  const { port, logs } = await startSimulator(t, { devices: [{ unit: 5, kind: 'turnstile' }] });
  const turnstile = await connect(t, port, 5);

  await turnstile.writeCoil(0, true);
  await turnstile.writeCoil(0, true);
  await until('a passage in', async () => (await passages(turnstile)).in === 1);
  await pulse(turnstile, 1);
  // The out passage was authorised after both writes; once it is counted the in passages are final.
  await until('a passage out', async () => (await passages(turnstile)).out === 1);
  assert.deepEqual(await passages(turnstile), { in: 1, out: 1 });
  assert.equal(logs.filter((l) => l.msg === 'turnstile 5 passage in authorised').length, 1);
});

test('turnstile: the arm rotating input is true while someone passes', async (t) => {
  const { port } = await startSimulator(t, {
    devices: [{ unit: 5, kind: 'turnstile' }],
    timing: { armTurnMs: 1500 },
  });
  const turnstile = await connect(t, port, 5);
  await pulse(turnstile, 1);
  await until('the arm to rotate', async () => (await turnstile.readDiscreteInputs(0, 1)).data[0]);
  assert.deepEqual(await passages(turnstile), { in: 0, out: 0 }, 'counted when the rotation completes');
  await until('the arm to stop', async () => !(await turnstile.readDiscreteInputs(0, 1)).data[0]);
  assert.deepEqual(await passages(turnstile), { in: 0, out: 1 });
});

test('turnstile: a person who walks away is not counted', async (t) => {
  const { port, logs } = await startSimulator(t, {
    devices: [{ unit: 5, kind: 'turnstile' }],
    timing: { passProbability: 0 },
  });
  const turnstile = await connect(t, port, 5);
  await pulse(turnstile, 0);
  await until('the person to walk away', () => logs.some((l) => l.msg === 'turnstile 5 person walked away'));
  assert.deepEqual(await passages(turnstile), { in: 0, out: 0 });
});

test('turnstile: free mode produces passages in both directions until switched off', async (t) => {
  const { port } = await startSimulator(t, { devices: [{ unit: 5, kind: 'turnstile' }] });
  const turnstile = await connect(t, port, 5);

  await turnstile.writeCoil(2, true);
  assert.equal((await turnstile.readCoils(2, 1)).data[0], true);
  await until('passages both ways', async () => {
    const counted = await passages(turnstile);
    return counted.in > 0 && counted.out > 0 && counted.in + counted.out >= 6;
  });
  await turnstile.writeCoil(2, false);
  assert.equal((await turnstile.readCoils(2, 1)).data[0], false);

  // Passages stop: once a passage already under way has finished, two authorised passages (the
  // sentinels, long enough for several free ones to have come) are all that is counted.
  await until('the arm to stop', async () => !(await turnstile.readDiscreteInputs(0, 1)).data[0]);
  const afterFree = await passages(turnstile);
  await pulse(turnstile, 0);
  await until('the sentinel passage in', async () => (await passages(turnstile)).in === afterFree.in + 1);
  await pulse(turnstile, 1);
  await until('the sentinel passage out', async () => (await passages(turnstile)).out === afterFree.out + 1);
  assert.deepEqual(await passages(turnstile), { in: afterFree.in + 1, out: afterFree.out + 1 }, 'no free passage after free mode ended');
});

test('barrier: coil 0 raises the arm, a vehicle drives over the loop, coil 0 off lowers it', async (t) => {
  const { sim, port, logs } = await startSimulator(t, { devices: [{ unit: 6, kind: 'barrier' }] });
  const barrier = await connect(t, port, 6);
  assert.deepEqual(await barrierInputs(barrier), { loop: false, open: false, closed: true }, 'at rest: down, loop clear');
  await barrier.writeCoil(0, true);
  assert.equal(sim.arm(6), 'moving');
  assert.deepEqual(await barrierInputs(barrier), { loop: false, open: false, closed: false }, 'no limit switch while it travels');
  await until('the arm up', async () => (await barrierInputs(barrier)).open);
  await until('a vehicle on the loop', async () => (await barrierInputs(barrier)).loop);
  await until('the vehicle gone', async () => !(await barrierInputs(barrier)).loop);
  await barrier.writeCoil(0, false);
  await until('the arm down', async () => (await barrierInputs(barrier)).closed);
  assert.equal(sim.arm(6), 'closed');
  assert.equal(sim.barrierHits(6), 0);
  assert.ok(logs.some((l) => l.msg === 'vehicle on the loop of barrier 6'));
});

test('barrier: an arm lowered while a vehicle is on the loop counts a hit', async (t) => {
  const { sim, port } = await startSimulator(t, { devices: [{ unit: 6, kind: 'barrier' }], timing: { vehicleProbability: 0 } });
  const barrier = await connect(t, port, 6);
  await barrier.writeCoil(0, true);
  await until('the arm up', async () => (await barrierInputs(barrier)).open);
  sim.vehicleArrives(6);
  assert.equal(sim.vehicleOnLoop(6), true);
  await barrier.writeCoil(0, false);
  assert.equal(sim.barrierHits(6), 1);
  sim.vehicleLeaves(6);
  assert.deepEqual(await barrierInputs(barrier), { loop: false, open: false, closed: false });
});

test('two devices on different unit ids are independent', async (t) => {
  const { sim, port } = await startSimulator(t, {
    devices: [
      { unit: 1, kind: 'gate', name: 'north' },
      { unit: 2, kind: 'gate', name: 'south' },
      { unit: 3, kind: 'turnstile' },
    ],
    timing: { doorOpenMs: [60_000, 60_000] },
  });
  const north = await connect(t, port, 1);
  const south = await connect(t, port, 2);
  const turnstile = await connect(t, port, 3);

  await north.writeCoil(0, true);
  await until('the north door to open', () => doorOpen(north));
  assert.equal(await lockReleased(south), false);
  assert.equal(await doorOpen(south), false);
  assert.equal(sim.door(2), 'closed');
  assert.deepEqual(await passages(turnstile), { in: 0, out: 0 });
  assert.equal((await turnstile.readCoils(0, 1)).data[0], false);

  await south.writeCoil(5, true);
  assert.equal((await north.readCoils(5, 1)).data[0], false, 'spare coils are per unit');
  assert.equal((await south.readCoils(5, 1)).data[0], true, 'spare coils keep what is written');
});

test('addresses 200 and beyond answer exception 2; unknown unit ids answer exception 11', async (t) => {
  const { port } = await startSimulator(t, { devices: [{ unit: 1, kind: 'gate' }] });
  const gate = await connect(t, port, 1);

  await assert.rejects(gate.readCoils(200, 1), modbusException(2));
  await assert.rejects(gate.readCoils(195, 10), modbusException(2), 'a read running past the end');
  await assert.rejects(gate.readDiscreteInputs(500, 1), modbusException(2));
  await assert.rejects(gate.readInputRegisters(1000, 2), modbusException(2));
  await assert.rejects(gate.readHoldingRegisters(4000, 1), modbusException(2));
  await assert.rejects(gate.writeCoil(300, true), modbusException(2));
  await assert.rejects(gate.writeRegister(65535, 1), modbusException(2));
  assert.deepEqual((await gate.readCoils(199, 1)).data.slice(0, 1), [false], 'address 199 exists');

  const nobody = await connect(t, port, 9);
  await assert.rejects(nobody.readCoils(0, 1), modbusException(11));
  await assert.rejects(nobody.writeCoil(0, true), modbusException(11));
});

test('the same seed replays the same free-passage directions', async (t) => {
  const directions = async (seed: number) => {
    const { sim, port, logs } = await startSimulator(t, { devices: [{ unit: 5, kind: 'turnstile' }], seed });
    const turnstile = await connect(t, port, 5);
    await turnstile.writeCoil(2, true);
    const passed = () => logs.filter((l) => l.msg === 'passage in' || l.msg === 'passage out');
    await until('eight passages', () => passed().length >= 8);
    await sim.stop();
    return passed()
      .slice(0, 8)
      .map((l) => l.msg)
      .join(',');
  };
  const first = await directions(1234);
  assert.equal(await directions(1234), first);
  assert.notEqual(await directions(99), first);
});

test('stop() frees the port, closes clients and leaves no timers running', async (t) => {
  const timersBefore = process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
  const sim = new SiteSimulator({
    devices: [
      { unit: 1, kind: 'gate' },
      { unit: 2, kind: 'turnstile' },
    ],
    seed: 7,
    timing: QUICK,
    incidentsPerMinute: 30,
  });
  const { port } = await sim.start();
  assert.equal(sim.port, port);
  const gate = await connect(t, port, 1);
  const turnstile = await connect(t, port, 2);
  await turnstile.writeCoil(2, true);
  await gate.writeCoil(0, true);

  await sim.stop();

  await until('the server to drop its clients', () => !gate.isOpen && !turnstile.isOpen);
  const timersAfter = process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
  assert.equal(timersAfter, timersBefore, 'no simulator timer outlives stop()');

  const rebind = createServer();
  await new Promise<void>((resolve, reject) => {
    rebind.once('error', reject);
    rebind.listen({ host: '127.0.0.1', port, exclusive: true }, () => resolve());
  });
  await new Promise<void>((resolve) => rebind.close(() => resolve()));
  await sim.stop(); // a second stop is harmless
});

test('a stopped simulator starts again and keeps its counters', async (t) => {
  const { sim, port } = await startSimulator(t, { devices: [{ unit: 5, kind: 'turnstile' }] });
  const before = await connect(t, port, 5);
  await pulse(before, 0);
  await until('a passage in', async () => (await passages(before)).in === 1);
  await sim.stop();

  const again = await sim.start();
  const after = await connect(t, again.port, 5);
  assert.deepEqual(await passages(after), { in: 1, out: 0 });
});

test('a fixed port is used as given; a taken port fails with listen_failed', async (t) => {
  const port = await findFreePort('127.0.0.1');
  const first = await startSimulator(t, { devices: [{ unit: 1, kind: 'gate' }], port });
  assert.equal(first.port, port);
  const second = new SiteSimulator({ devices: [{ unit: 1, kind: 'gate' }], port });
  await assert.rejects(second.start(), (err) => err instanceof SimulatorError && err.code === 'listen_failed');
  await assert.rejects(first.sim.start(), (err) => err instanceof SimulatorError && err.code === 'already_running');
});

test('bad options are reported together; helpers reject unknown units and wrong kinds', () => {
  assert.throws(
    () =>
      new SiteSimulator({
        devices: [
          { unit: 0, kind: 'gate' },
          { unit: 3, kind: 'gate' },
          { unit: 3, kind: 'elevator' as 'gate' },
        ],
        port: 70000,
        incidentsPerMinute: -1,
        timing: { doorOpenMs: [5, 1], passProbability: 2 },
      }),
    (err) =>
      err instanceof SimulatorError &&
      err.code === 'invalid_options' &&
      ['devices[0].unit', 'devices[2].unit', 'devices[2].kind', 'port', 'incidentsPerMinute', 'timing.doorOpenMs', 'timing.passProbability'].every(
        (key) => err.message.includes(key),
      ),
  );

  const sim = new SiteSimulator({ devices: [{ unit: 1, kind: 'gate' }, { unit: 2, kind: 'turnstile' }] });
  assert.equal(sim.port, 0, 'the constructor binds nothing');
  assert.throws(() => sim.door(9), (err) => err instanceof SimulatorError && err.code === 'unknown_unit');
  assert.throws(() => sim.counters(1), (err) => err instanceof SimulatorError && err.code === 'wrong_kind');
  assert.throws(() => sim.forceDoor(2), (err) => err instanceof SimulatorError && err.code === 'wrong_kind');
  assert.throws(() => sim.vehicleArrives(1), (err) => err instanceof SimulatorError && err.code === 'wrong_kind' && /unit 1 is a gate, not a barrier/.test(err.message));
});
