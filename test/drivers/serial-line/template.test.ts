import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fillTemplate } from '../../../drivers/serial-line/driver.js';
import { DeviceError } from '../../../src/driver-api.js';

test('a line template takes the arguments of the command behind the write', () => {
  assert.equal(fillTemplate('OPEN {duration_ms}', { duration_ms: 4000 }, 'unlock'), 'OPEN 4000');
  assert.equal(fillTemplate('PASS {direction} NOW', { direction: 'in' }, 'pass_in'), 'PASS in NOW');
  assert.equal(fillTemplate('CLOSE', {}, 'unlock'), 'CLOSE');
});

test('a placeholder the write does not carry sends nothing and says why', () => {
  assert.throws(
    () => fillTemplate('OPEN {duration_ms}', {}, 'unlock'),
    (err: unknown) => err instanceof DeviceError && err.notApplied && /needs \{duration_ms\}/.test(err.message),
  );
});
