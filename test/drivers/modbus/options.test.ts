import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ConfigIssue, PointSpec } from '../../../src/driver-api.js';
import { modbusDriver } from '../../../drivers/modbus/index.js';

const gate: PointSpec = {
  outputs: { required: ['unlock'], optional: ['buzzer'] },
  inputs: { required: [], optional: ['door', 'unlocked_feedback', 'count', 'mode'] },
};
const BASE = 'devices[2].options';

function parse(raw: unknown, points: PointSpec = gate) {
  return modbusDriver.parseOptions(raw, points, BASE);
}

/** Asserts that parsing failed with exactly these issue paths, each message matching. */
function expectIssues(raw: unknown, expected: Record<string, RegExp>, points: PointSpec = gate): ConfigIssue[] {
  const { options, issues } = parse(raw, points);
  assert.equal(options, undefined, 'no options are returned when there are issues');
  assert.deepEqual(
    issues.map((i) => i.path).sort(),
    Object.keys(expected).sort(),
    `issues were: ${JSON.stringify(issues, null, 2)}`,
  );
  for (const issue of issues) assert.match(issue.message, expected[issue.path], issue.path);
  return issues;
}

test('valid options come back normalised with defaults filled in', () => {
  const { options, issues } = parse({
    outputs: { unlock: { coil: 0 }, buzzer: { holding_register: 10 } },
    inputs: {
      door: { discrete_input: 0 },
      unlocked_feedback: { coil: 0, invert: true },
      count: { input_register: 3 },
      mode: { holding_register: 11, on: 5 },
    },
  });
  assert.deepEqual(issues, []);
  assert.deepEqual(options, {
    unit: 1,
    outputs: {
      unlock: { table: 'coil', address: 0 },
      buzzer: { table: 'holding_register', address: 10, on: 1, off: 0 },
    },
    inputs: {
      door: { table: 'discrete_input', address: 0, invert: false },
      unlocked_feedback: { table: 'coil', address: 0, invert: true },
      count: { table: 'input_register', address: 3, invert: false },
      mode: { table: 'holding_register', address: 11, on: 5, invert: false },
    },
  });
});

test('explicit unit, register on/off values and address bounds are accepted', () => {
  const { options, issues } = parse({
    unit: 247,
    outputs: { unlock: { holding_register: 65535, on: 0, off: 65535 } },
  });
  assert.deepEqual(issues, []);
  assert.deepEqual(options, {
    unit: 247,
    outputs: { unlock: { table: 'holding_register', address: 65535, on: 0, off: 65535 } },
    inputs: {},
  });
  assert.equal(parse({ unit: 0, outputs: { unlock: { coil: 0 } } }).options?.unit, 0);
});

test('a kind with no required points accepts absent options', () => {
  const sensor: PointSpec = { outputs: { required: [], optional: [] }, inputs: { required: [], optional: ['door'] } };
  assert.deepEqual(parse(undefined, sensor), { options: { unit: 1, outputs: {}, inputs: {} }, issues: [] });
});

test('options that are not a mapping', () => {
  expectIssues([1, 2], { [BASE]: /must be a mapping/ });
  expectIssues('coil 0', { [BASE]: /must be a mapping/ });
});

test('missing required outputs, whether options, outputs or the point is absent', () => {
  expectIssues(undefined, { [`${BASE}.outputs.unlock`]: /required/ });
  expectIssues({ unit: 3 }, { [`${BASE}.outputs.unlock`]: /required/ });
  expectIssues({ outputs: { buzzer: { coil: 1 } } }, { [`${BASE}.outputs.unlock`]: /"unlock" is required/ });
});

test('required inputs are enforced too', () => {
  const turnstile: PointSpec = { outputs: { required: [], optional: [] }, inputs: { required: ['passage'], optional: [] } };
  expectIssues({}, { [`${BASE}.inputs.passage`]: /"passage" is required/ }, turnstile);
});

test('unknown keys at the top and inside a point', () => {
  expectIssues(
    { outputs: { unlock: { coil: 0, pulse_ms: 300 } }, input: {} },
    { [`${BASE}.input`]: /unknown key/, [`${BASE}.outputs.unlock.pulse_ms`]: /unknown key/ },
  );
  expectIssues(
    { outputs: { unlock: { coil: 0 } }, inputs: { door: { discrete_input: 0, on: 1 } } },
    { [`${BASE}.inputs.door.on`]: /unknown key/ },
  );
});

test('unknown point names on either side', () => {
  expectIssues(
    { outputs: { unlock: { coil: 0 }, siren: { coil: 1 } }, inputs: { window: { discrete_input: 0 } } },
    {
      [`${BASE}.outputs.siren`]: /unknown output "siren".*unlock, buzzer/,
      [`${BASE}.inputs.window`]: /unknown input "window"/,
    },
  );
});

test('unit out of range or not an integer', () => {
  for (const unit of [248, -1, 1.5, '1', null]) {
    expectIssues({ unit, outputs: { unlock: { coil: 0 } } }, { [`${BASE}.unit`]: /unit must be an integer 0..247/ });
  }
});

test('outputs or inputs that are not mappings', () => {
  expectIssues({ outputs: ['unlock'] }, { [`${BASE}.outputs`]: /must be a mapping of output name to point/ });
  expectIssues({ outputs: { unlock: { coil: 0 } }, inputs: 'door' }, { [`${BASE}.inputs`]: /must be a mapping/ });
});

test('a point that is not a mapping', () => {
  expectIssues({ outputs: { unlock: 0 } }, { [`${BASE}.outputs.unlock`]: /must be a mapping/ });
  expectIssues({ outputs: { unlock: { coil: 0 } }, inputs: { door: null } }, { [`${BASE}.inputs.door`]: /must be a mapping/ });
});

test('a point needs exactly one table', () => {
  expectIssues({ outputs: { unlock: {} } }, { [`${BASE}.outputs.unlock`]: /exactly one of coil, discrete_input/ });
  expectIssues(
    { outputs: { unlock: { coil: 0, holding_register: 0 } } },
    { [`${BASE}.outputs.unlock`]: /has coil and holding_register/ },
  );
  expectIssues(
    { outputs: { unlock: { coil: 0 } }, inputs: { door: { discrete_input: 0, input_register: 0 } } },
    { [`${BASE}.inputs.door`]: /exactly one/ },
  );
});

test('addresses must be integers 0..65535', () => {
  for (const address of [65536, -1, 1.5, '0', true]) {
    expectIssues({ outputs: { unlock: { coil: address } } }, { [`${BASE}.outputs.unlock.coil`]: /integer 0..65535/ });
  }
  expectIssues(
    { outputs: { unlock: { coil: 0 } }, inputs: { count: { input_register: 70000 } } },
    { [`${BASE}.inputs.count.input_register`]: /integer 0..65535/ },
  );
});

test('outputs on read-only tables', () => {
  expectIssues({ outputs: { unlock: { discrete_input: 0 } } }, { [`${BASE}.outputs.unlock.discrete_input`]: /read-only/ });
  expectIssues({ outputs: { unlock: { input_register: 4 } } }, { [`${BASE}.outputs.unlock.input_register`]: /read-only/ });
});

test('on/off values: holding registers only, in range, distinct', () => {
  expectIssues(
    { outputs: { unlock: { coil: 0, on: 1, off: 0 } } },
    { [`${BASE}.outputs.unlock.on`]: /holding_register outputs only/, [`${BASE}.outputs.unlock.off`]: /holding_register outputs only/ },
  );
  expectIssues({ outputs: { unlock: { holding_register: 1, on: 70000 } } }, { [`${BASE}.outputs.unlock.on`]: /0..65535/ });
  expectIssues({ outputs: { unlock: { holding_register: 1, off: -2 } } }, { [`${BASE}.outputs.unlock.off`]: /0..65535/ });
  expectIssues({ outputs: { unlock: { holding_register: 1, on: 0 } } }, { [`${BASE}.outputs.unlock.on`]: /must differ/ });
  expectIssues(
    { outputs: { unlock: { holding_register: -5, on: 1.5, off: 'x' } } },
    {
      [`${BASE}.outputs.unlock.holding_register`]: /0..65535/,
      [`${BASE}.outputs.unlock.on`]: /0..65535/,
      [`${BASE}.outputs.unlock.off`]: /0..65535/,
    },
  );
  expectIssues(
    { outputs: { unlock: { coil: 0 } }, inputs: { mode: { input_register: 1, on: 'yes' } } },
    { [`${BASE}.inputs.mode.on`]: /0..65535/ },
  );
});

test('invert must be a boolean and only applies to boolean inputs', () => {
  expectIssues(
    { outputs: { unlock: { coil: 0 } }, inputs: { door: { discrete_input: 0, invert: 'yes' } } },
    { [`${BASE}.inputs.door.invert`]: /true or false/ },
  );
  expectIssues(
    { outputs: { unlock: { coil: 0 } }, inputs: { count: { input_register: 0, invert: true } } },
    { [`${BASE}.inputs.count.invert`]: /add on: <value>/ },
  );
});

test('every problem is reported at once', () => {
  const issues = expectIssues(
    {
      unit: 300,
      extra: true,
      outputs: { buzzer: { discrete_input: 2 }, siren: { coil: 1 } },
      inputs: { door: { discrete_input: 99999 }, count: { input_register: 0, invert: true } },
    },
    {
      [`${BASE}.unit`]: /0..247/,
      [`${BASE}.extra`]: /unknown key/,
      [`${BASE}.outputs.buzzer.discrete_input`]: /read-only/,
      [`${BASE}.outputs.siren`]: /unknown output/,
      [`${BASE}.outputs.unlock`]: /required/,
      [`${BASE}.inputs.door.discrete_input`]: /0..65535/,
      [`${BASE}.inputs.count.invert`]: /boolean inputs/,
    },
  );
  assert.equal(issues.length, 7);
});

test('odd point names are quoted in the key path', () => {
  expectIssues(
    { outputs: { unlock: { coil: 0 }, 'front door': { coil: 1 } } },
    { [`${BASE}.outputs["front door"]`]: /unknown output/ },
  );
});
