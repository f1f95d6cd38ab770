import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ModbusOptions } from '../../../drivers/modbus/options.js';
import { planReads, type PlannedRead } from '../../../drivers/modbus/read-plan.js';

function options(partial: Partial<ModbusOptions>): ModbusOptions {
  return { unit: 1, outputs: {}, inputs: {}, ...partial };
}

/** Request shapes without the decoders, sorted for comparison. */
function shape(plan: PlannedRead[]) {
  return plan
    .map((r) => ({ table: r.table, address: r.address, count: r.count, points: r.points.map((p) => `${p.name}@${p.offset}`).sort() }))
    .sort((a, b) => a.table.localeCompare(b.table) || a.address - b.address);
}

test('a gate with a door contact on DI 0 and its relay on coil 0 reads in two requests', () => {
  const plan = planReads(
    options({
      outputs: { unlock: { table: 'coil', address: 0 } },
      inputs: { door: { table: 'discrete_input', address: 0, invert: false } },
    }),
  );
  assert.deepEqual(shape(plan), [
    { table: 'coil', address: 0, count: 1, points: ['unlock@0'] },
    { table: 'discrete_input', address: 0, count: 1, points: ['door@0'] },
  ]);
});

test('adjacent addresses in one table share a request; gaps and other tables do not', () => {
  const plan = planReads(
    options({
      outputs: { unlock: { table: 'holding_register', address: 10, on: 1, off: 0 } },
      inputs: {
        a: { table: 'discrete_input', address: 2, invert: false },
        b: { table: 'discrete_input', address: 0, invert: false },
        c: { table: 'discrete_input', address: 1, invert: false },
        far: { table: 'discrete_input', address: 5, invert: false },
        mode: { table: 'holding_register', address: 11, on: 3, invert: false },
        count: { table: 'input_register', address: 11, invert: false },
      },
    }),
  );
  assert.deepEqual(shape(plan), [
    { table: 'discrete_input', address: 0, count: 3, points: ['a@2', 'b@0', 'c@1'] },
    { table: 'discrete_input', address: 5, count: 1, points: ['far@0'] },
    { table: 'holding_register', address: 10, count: 2, points: ['mode@1', 'unlock@0'] },
    { table: 'input_register', address: 11, count: 1, points: ['count@0'] },
  ]);
});

test('two points on the same address share one item', () => {
  const plan = planReads(
    options({
      outputs: { unlock: { table: 'coil', address: 4 } },
      inputs: { unlocked_feedback: { table: 'coil', address: 4, invert: true } },
    }),
  );
  assert.deepEqual(shape(plan), [{ table: 'coil', address: 4, count: 1, points: ['unlock@0', 'unlocked_feedback@0'] }]);
});

test('a run longer than one request may carry (125 registers) is split', () => {
  const inputs: ModbusOptions['inputs'] = {};
  for (let i = 0; i < 130; i += 1) inputs[`r${i}`] = { table: 'input_register', address: i, invert: false };
  const plan = planReads(options({ inputs }));
  assert.deepEqual(
    plan.map((r) => [r.address, r.count]),
    [
      [0, 125],
      [125, 5],
    ],
  );
});

test('decoders map raw values to readings', () => {
  const plan = planReads(
    options({
      outputs: {
        relay: { table: 'coil', address: 0 },
        lamp: { table: 'holding_register', address: 0, on: 7, off: 2 },
      },
      inputs: {
        door: { table: 'discrete_input', address: 0, invert: true },
        mode: { table: 'input_register', address: 0, on: 5, invert: false },
        closed: { table: 'input_register', address: 1, on: 5, invert: true },
        count: { table: 'input_register', address: 2, invert: false },
      },
    }),
  );
  const decode = (name: string, raw: boolean | number) => {
    const point = plan.flatMap((r) => r.points).find((p) => p.name === name);
    assert.ok(point, name);
    return point.decode(raw);
  };
  assert.equal(decode('relay', true), true);
  assert.equal(decode('relay', false), false);
  assert.equal(decode('lamp', 7), true);
  assert.equal(decode('lamp', 2), false);
  assert.equal(decode('lamp', 9), false);
  assert.equal(decode('door', true), false);
  assert.equal(decode('door', false), true);
  assert.equal(decode('mode', 5), true);
  assert.equal(decode('mode', 4), false);
  assert.equal(decode('closed', 5), false);
  assert.equal(decode('count', 1234), 1234);
});
