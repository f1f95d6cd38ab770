// Pictures through the driver's `snapshot` action (the camera's pictures piece), against a
// recorded action: the image goes to the sink, the state keeps its time, no image is an error.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { snapshots } from '../../../src/devices/capabilities/snapshots.js';
import { DeviceError, type ActionOutcome } from '../../../src/driver-api.js';
import { pieceContext } from './piece-context.js';

function piece(outcome: ActionOutcome, withImageSink = true) {
  const pc = pieceContext();
  const images: { bytes: Buffer; meta: unknown }[] = [];
  const sink = withImageSink ? { ...pc.ctx.sink, image: (bytes: Buffer, meta: unknown) => void images.push({ bytes, meta }) } : pc.ctx.sink;
  const actions = { perform: async (action: string) => (assert.equal(action, 'snapshot'), outcome) };
  return { ...pc, images, runtime: snapshots().create({ ...pc.ctx, sink, actions }, undefined as never) };
}

const jpeg = { bytes: Buffer.from([0xff, 0xd8, 0xff, 0xd9]), contentType: 'image/jpeg', at: 1_796_000_000_000 };

test('a snapshot hands the image to the sink, keeps its time in the state and returns the driver\'s data', async () => {
  const { runtime, images, touches } = piece({ data: { bytes: 4 }, image: jpeg });
  assert.deepEqual(runtime.state!(), { last_snapshot_at: null });
  assert.deepEqual(await runtime.take(new AbortController().signal), { bytes: 4 });
  assert.deepEqual(images, [{ bytes: jpeg.bytes, meta: { contentType: 'image/jpeg', at: jpeg.at } }]);
  assert.deepEqual(runtime.state!(), { last_snapshot_at: jpeg.at });
  assert.equal(touches(), 1);
});

test('a sink that takes no images: the snapshot still counts', async () => {
  const { runtime } = piece({ image: jpeg }, false);
  assert.deepEqual(await runtime.take(new AbortController().signal), {});
  assert.equal(runtime.state!().last_snapshot_at, jpeg.at);
});

test('a driver that returns no image: a device_error, and the state keeps the last time', async () => {
  const { runtime, touches } = piece({ data: {} });
  await assert.rejects(runtime.take(new AbortController().signal), (err: unknown) => err instanceof DeviceError && err.code === 'device_error' && err.message === 'the driver returned no image');
  assert.equal(runtime.state!().last_snapshot_at, null);
  assert.equal(touches(), 0);
});
