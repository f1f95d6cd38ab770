import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ReconnectLoop, type ReconnectMessages } from '../../src/transport/reconnect-loop.js';
import { sleep, until } from '../support/wait.js';

const MESSAGES: ReconnectMessages = { up: 'up', upAgain: 'up again', failed: 'failed', failedAgain: 'failed again', lost: 'lost' };

interface Entry {
  level: string;
  obj: Record<string, unknown>;
  msg?: string;
}

function recordingLog() {
  const entries: Entry[] = [];
  const at = (level: string) => (obj: object, msg?: string) => entries.push({ level, obj: obj as Record<string, unknown>, msg });
  return { entries, log: { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') } };
}

test('one warning per outage, later failures at debug, then up again with the attempts it took', async (t) => {
  const { entries, log } = recordingLog();
  let calls = 0;
  const loop: ReconnectLoop = new ReconnectLoop({ initialMs: 1, maxMs: 4 }, log, MESSAGES, () => {
    calls += 1;
    if (calls <= 3) loop.failed({ try: calls });
    else loop.up({ try: calls });
  });
  t.after(() => loop.stop());
  loop.start();
  await until('the fourth attempt', () => calls === 4);
  assert.deepEqual(entries.map((e) => [e.level, e.msg]), [
    ['warn', 'failed'],
    ['debug', 'failed again'],
    ['debug', 'failed again'],
    ['info', 'up again'],
  ]);
  assert.equal(entries[1].obj.attempt, 1);
  assert.equal(entries[3].obj.attempts, 3);

  let announced = false;
  loop.lost({ why: 'test' }, () => {
    announced = true;
  });
  assert.ok(announced);
  assert.deepEqual([entries[4].level, entries[4].msg], ['warn', 'lost']);
  await until('the attempt after the loss', () => calls === 5);
  assert.deepEqual([entries[5].level, entries[5].msg, entries[5].obj.attempts], ['info', 'up again', 1]);
});

test('up at the first attempt is logged plainly', (t) => {
  const { entries, log } = recordingLog();
  const loop: ReconnectLoop = new ReconnectLoop({ initialMs: 1, maxMs: 4 }, log, MESSAGES, () => loop.up({}));
  t.after(() => loop.stop());
  loop.start();
  assert.deepEqual(entries.map((e) => [e.level, e.msg]), [['info', 'up']]);
});

test('stop() during the wait cancels the retry; a failure reported after stop() is not logged', async () => {
  const { entries, log } = recordingLog();
  let calls = 0;
  const loop: ReconnectLoop = new ReconnectLoop({ initialMs: 50, maxMs: 50 }, log, MESSAGES, () => {
    calls += 1;
    loop.failed({});
  });
  loop.start();
  assert.equal(calls, 1);
  loop.stop();
  assert.equal(loop.running, false);
  await sleep(150);
  assert.equal(calls, 1, 'no attempt after stop()');
  loop.failed({});
  assert.deepEqual(entries.map((e) => e.msg), ['failed']);
});

test('an asynchronous attempt is tracked until it settles', async (t) => {
  const { log } = recordingLog();
  let finish!: () => void;
  const loop = new ReconnectLoop({ initialMs: 1, maxMs: 4 }, log, MESSAGES, () => new Promise<void>((resolve) => (finish = resolve)));
  t.after(() => loop.stop());
  assert.equal(loop.attempting, null);
  loop.start();
  const attempt = loop.attempting;
  assert.notEqual(attempt, null);
  loop.stop();
  finish();
  await attempt;
  await until('the attempt to be let go', () => loop.attempting === null);
});
