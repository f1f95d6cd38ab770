// The per-device FIFO (src/commands/device-queue.ts): one job at a time in arrival order, and
// cancelling a waiting job takes that job off and no other, however often it is asked.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DeviceQueue } from '../../src/commands/device-queue.js';
import { until } from '../support/wait.js';

describe('device queue', () => {
  it('a cancel asked twice removes its own job once and never another one', async () => {
    const queue = new DeviceQueue();
    const ran: string[] = [];
    let release!: () => void;
    const blocker = new Promise<void>((resolve) => (release = resolve));
    queue.push(async () => {
      ran.push('first');
      await blocker;
    });
    const second = queue.push(async () => void ran.push('second'));
    queue.push(async () => void ran.push('third'));
    assert.equal(queue.depth, 3);
    assert.equal(second.cancel(), true);
    assert.equal(second.cancel(), false, 'already cancelled');
    assert.equal(queue.depth, 2, 'only the cancelled job left the queue');
    release();
    await until('the third job', () => ran.includes('third'));
    assert.deepEqual(ran, ['first', 'third']);
    assert.equal(queue.depth, 0);
  });
});
