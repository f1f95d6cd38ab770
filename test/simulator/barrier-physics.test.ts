import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BarrierPhysics, BARRIER_POINTS } from '../../src/simulator/barrier-physics.js';
import { Random } from '../../src/simulator/random.js';
import { DEFAULT_TIMING } from '../../src/simulator/timing.js';

function barrier(messages: string[] = []) {
  return new BarrierPhysics({
    unit: 4,
    name: 'garage',
    rng: new Random(1),
    timing: { ...DEFAULT_TIMING, barrierTravelMs: 60_000, vehicleProbability: 0 },
    log: { info() {}, debug: (_obj, msg) => messages.push(msg ?? '') },
  });
}

function write(model: BarrierPhysics, value: boolean): void {
  const previous = model.tables.writeCoil(BARRIER_POINTS.openCoil, value);
  model.coilWritten(BARRIER_POINTS.openCoil, value, previous);
}

test('a barrier rests down with its loop clear, and moves when coil 0 changes', (t) => {
  const model = barrier();
  t.after(() => model.stop());
  assert.equal(model.position, 'closed');
  assert.equal(model.vehicleOnLoop, false);
  write(model, true);
  assert.equal(model.position, 'moving');
  write(model, true); // the same value again is no new command
  assert.equal(model.position, 'moving');
});

test('stop() settles the arm at the end it was heading for and clears the loop', () => {
  const messages: string[] = [];
  const model = barrier(messages);
  write(model, true);
  model.vehicleArrives();
  model.stop();
  assert.equal(model.position, 'open');
  assert.equal(model.vehicleOnLoop, false);
  assert.deepEqual(messages, ['barrier 4 raising', 'vehicle on the loop of barrier 4']);
});

test('only an arm coming down while a vehicle is on the loop is a hit', (t) => {
  const model = barrier();
  t.after(() => model.stop());
  model.vehicleArrives();
  write(model, true);
  assert.equal(model.hits, 0, 'raising over a vehicle hits nothing');
  write(model, false);
  assert.equal(model.hits, 1);
  model.vehicleLeaves();
  write(model, true);
  write(model, false);
  assert.equal(model.hits, 1);
});
