import assert from 'node:assert/strict';
import { test } from 'node:test';
import { actionsOf } from '../../../src/devices/capabilities/action-port.js';
import { DeviceError } from '../../../src/driver-api.js';
import { pieceContext } from './piece-context.js';

test('a device without driver actions: a DeviceError that says so and that nothing was applied', () => {
  const { ctx } = pieceContext();
  assert.throws(
    () => actionsOf(ctx),
    (err: unknown) => err instanceof DeviceError && err.code === 'device_error' && err.message === 'test d1 has no driver actions' && err.notApplied === true,
  );
});

test('a device with driver actions: they are handed over as they are', () => {
  const { ctx } = pieceContext();
  const actions = { perform: async () => ({}) };
  assert.equal(actionsOf({ ...ctx, actions }), actions);
});
