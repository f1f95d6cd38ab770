import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TurnstilePhysics, TURNSTILE_POINTS } from '../../src/simulator/turnstile-physics.js';
import { DEFAULT_TIMING } from '../../src/simulator/timing.js';
import { Random } from '../../src/simulator/random.js';
import { until } from '../support/wait.js';

test('passage counters are uint16 and wrap from 65535 to 0', async (t) => {
  const messages: string[] = [];
  const turnstile = new TurnstilePhysics({
    unit: 4,
    name: 'lobby',
    rng: new Random(1),
    timing: { ...DEFAULT_TIMING, turnstileApproachMs: [0, 0], passProbability: 1, armTurnMs: 0 },
    log: { info() {}, debug: (_obj, msg) => messages.push(msg ?? '') },
  });
  t.after(() => turnstile.stop());
  turnstile.start();
  turnstile.tables.inputRegisters[TURNSTILE_POINTS.passagesOutRegister] = 0xffff;

  const previous = turnstile.tables.writeCoil(TURNSTILE_POINTS.passOutCoil, true);
  turnstile.coilWritten(TURNSTILE_POINTS.passOutCoil, true, previous);

  await until('the passage', () => messages.includes('passage out'));
  assert.deepEqual(turnstile.counters, { in: 0, out: 0 });
});
