import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { describe, it } from 'node:test';
import { OutputLane } from '../../../src/devices/capabilities/output-lane.js';
import { DeviceError } from '../../../src/driver-api.js';

function lane() {
  const writes: string[] = [];
  let release: () => void = () => {};
  const port = {
    write: async (output: string, on: boolean) => {
      writes.push(`${output}:${on ? 'on' : 'off'}:start`);
      if (output === 'slow') await new Promise<void>((resolve) => (release = resolve));
      writes.push(`${output}:${on ? 'on' : 'off'}:end`);
    },
    has: () => true,
  };
  return { lane: new OutputLane(port, 'gate'), writes, release: () => release() };
}

describe('output lane', () => {
  it('runs sections one after another: a write never overtakes one under way', async () => {
    const { lane: l, writes, release } = lane();
    const first = l.run(() => l.write('slow', true));
    const second = l.run(() => l.write('other', false));
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(writes, ['slow:on:start']);
    release();
    await Promise.all([first, second]);
    assert.deepEqual(writes, ['slow:on:start', 'slow:on:end', 'other:off:start', 'other:off:end']);
  });

  it('once stopping, refuses to switch anything on (not applied) but still switches off', async () => {
    const { lane: l, writes } = lane();
    l.stop();
    await assert.rejects(l.run(() => l.write('a', true)), (err: DeviceError) => err.code === 'offline' && err.notApplied && /stopping; the gate is not actuated/.test(err.message));
    await l.run(() => l.write('a', false));
    assert.deepEqual(writes, ['a:off:start', 'a:off:end']);
  });

  it('withdraws a write whose command timed out before its turn', async () => {
    const { lane: l, writes } = lane();
    const controller = new AbortController();
    controller.abort();
    await assert.rejects(l.run(() => l.write('a', true, controller.signal)), (err: DeviceError) => err.code === 'timeout' && err.notApplied);
    assert.deepEqual(writes, []);
  });

  it('trusts a readback only when its read started after the last write ended and no write is under way', async () => {
    const { lane: l, release } = lane();
    const before = performance.now();
    const slow = l.run(() => l.write('slow', true));
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(l.fresh(performance.now() + 1), false, 'a write is under way');
    release();
    await slow;
    assert.equal(l.fresh(before), false, 'read before the write ended');
    assert.equal(l.fresh(performance.now() + 1), true);
  });
});
