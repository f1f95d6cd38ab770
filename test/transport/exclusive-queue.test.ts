import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DeviceError } from '../../src/driver-api.js';
import { ExclusiveQueue } from '../../src/transport/exclusive-queue.js';

interface Gate {
  promise: Promise<void>;
  open(): void;
}

function gate(): Gate {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { promise, open };
}

const poll = { priority: 'poll' } as const;
const command = { priority: 'command' } as const;

/** Holds the turn until the returned gate opens, so later entries queue up behind it. */
function occupy(queue: ExclusiveQueue): { held: Gate; done: Promise<string> } {
  const held = gate();
  const done = queue.run(async () => {
    await held.promise;
    return 'occupant';
  }, poll);
  return { held, done };
}

test('runs exactly one function at a time', async () => {
  const queue = new ExclusiveQueue();
  let active = 0;
  let maxActive = 0;
  const work = Array.from({ length: 8 }, (_, i) =>
    queue.run(async () => {
      active += 1;
      maxActive = Math.max(maxActive, active);
      await new Promise((resolve) => setImmediate(resolve));
      active -= 1;
      return i;
    }, i % 2 === 0 ? poll : command),
  );
  const results = await Promise.all(work);
  assert.equal(maxActive, 1);
  assert.deepEqual([...results].sort((a, b) => a - b), [0, 1, 2, 3, 4, 5, 6, 7]);
});

test('commands go before polls, first come first served within a priority', async () => {
  const queue = new ExclusiveQueue();
  const { held, done } = occupy(queue);
  const order: string[] = [];
  const record = (name: string) => async () => {
    order.push(name);
    return name;
  };
  const waiting = [
    queue.run(record('poll-1'), poll),
    queue.run(record('command-1'), command),
    queue.run(record('poll-2'), poll),
    queue.run(record('command-2'), command),
  ];
  assert.equal(queue.depth, 4);
  held.open();
  await Promise.all([done, ...waiting]);
  assert.deepEqual(order, ['command-1', 'command-2', 'poll-1', 'poll-2']);
  assert.equal(queue.depth, 0);
});

test('an entry whose signal aborts while waiting leaves the queue with a timeout DeviceError', async () => {
  const queue = new ExclusiveQueue();
  const { held, done } = occupy(queue);
  const abort = new AbortController();
  let ran = false;
  const abandoned = queue.run(async () => {
    ran = true;
  }, { priority: 'poll', signal: abort.signal });
  const kept = queue.run(async () => 'kept', poll);
  assert.equal(queue.depth, 2);

  abort.abort(new Error('caller gave up'));
  await assert.rejects(abandoned, (err: unknown) => {
    assert.ok(err instanceof DeviceError);
    assert.equal(err.code, 'timeout');
    return true;
  });
  assert.equal(queue.depth, 1);

  held.open();
  assert.equal(await kept, 'kept');
  await done;
  assert.equal(ran, false);
});

test('an already aborted signal is refused without running', async () => {
  const queue = new ExclusiveQueue();
  let ran = false;
  await assert.rejects(
    queue.run(async () => {
      ran = true;
    }, { priority: 'command', signal: AbortSignal.abort() }),
    (err: unknown) => err instanceof DeviceError && err.code === 'timeout',
  );
  assert.equal(ran, false);
  assert.equal(queue.depth, 0);
});

test('once running, an entry finishes even if its caller aborts, so turns never overlap', async () => {
  const queue = new ExclusiveQueue();
  const abort = new AbortController();
  const release = gate();
  let sawAbortInside = false;
  const running = queue.run(async (signal) => {
    await release.promise;
    sawAbortInside = signal.aborted;
    return 'finished';
  }, { priority: 'command', signal: abort.signal });
  let nextStarted = false;
  const next = queue.run(async () => {
    nextStarted = true;
  }, poll);

  await new Promise((resolve) => setImmediate(resolve));
  abort.abort();
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(nextStarted, false);
  release.open();
  assert.equal(await running, 'finished');
  await next;
  assert.equal(sawAbortInside, false);
  assert.equal(nextStarted, true);
});

test('clear() rejects everything waiting and revokes the running turn', async () => {
  const queue = new ExclusiveQueue();
  const linkDown = new DeviceError('offline', 'link went down');
  const running = queue.run(
    (signal) =>
      new Promise((_resolve, reject) => {
        signal.addEventListener('abort', () => reject(signal.reason));
      }),
    poll,
  );
  const waiting = [queue.run(async () => 'never', command), queue.run(async () => 'never', poll)];
  queue.clear(linkDown);
  assert.equal(queue.depth, 0);
  await assert.rejects(running, (err: unknown) => err === linkDown);
  // Waiting entries never reached the wire: same code and message, marked as not applied.
  for (const entry of waiting) {
    await assert.rejects(entry, (err: unknown) => err instanceof DeviceError && err.code === 'offline' && err.message === linkDown.message && err.notApplied);
  }
  assert.equal(linkDown.notApplied, false, 'the running turn may have reached the device');
  assert.equal(await queue.run(async () => 'after', poll), 'after');
});

test('a function that throws fails only its own entry', async () => {
  const queue = new ExclusiveQueue();
  const boom = new Error('boom');
  const failing = queue.run(() => {
    throw boom;
  }, command);
  const rejectingAsync = queue.run(async () => {
    throw boom;
  }, command);
  const fine = queue.run(async () => 42, poll);
  await assert.rejects(failing, (err: unknown) => err === boom);
  await assert.rejects(rejectingAsync, (err: unknown) => err === boom);
  assert.equal(await fine, 42);
});
