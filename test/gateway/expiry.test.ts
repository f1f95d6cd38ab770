// Expiry end to end (DESIGN.md section 3): a command that waited somewhere never acts late.
// sent_at is judged against the gateway's clock with a skew allowance; ttl_ms overrides the
// default max age, and alone it bounds the time spent queued in the gateway.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { resultFor, sendCommand, startSession, uniqueId, waitForCoil, writesOf } from '../support/gateway.js';
import { GATE_A, TURNSTILE, siteDevice } from '../support/site.js';

const MAX_AGE_MS = 1000;
const SKEW_MS = 500;

const device = siteDevice();

test('sent_at far in the past: expired, nothing written', async (t) => {
  const { client, results } = await startSession(t, device, GATE_A, { commands: { max_age_ms: MAX_AGE_MS, clock_skew_ms: SKEW_MS } });
  const mark = device.writes.length;

  const id = uniqueId('old');
  await sendCommand(client, GATE_A, 'unlock', { id, sent_at: Date.now() - 600_000 });
  const result = await resultFor(results, id);
  assert.equal(result.status, 'error');
  assert.equal(result.code, 'expired');
  assert.match(result.message, /expired/);

  // Just past max_age_ms plus the skew allowance is also too old.
  const justTooOld = uniqueId('just-too-old');
  await sendCommand(client, GATE_A, 'unlock', { id: justTooOld, sent_at: Date.now() - (MAX_AGE_MS + SKEW_MS + 500) });
  assert.equal((await resultFor(results, justTooOld)).code, 'expired');

  const sentinel = uniqueId('sentinel');
  await sendCommand(client, GATE_A, 'lock', { id: sentinel });
  assert.equal((await resultFor(results, sentinel)).status, 'ok');
  await waitForCoil(device, GATE_A.unit, 0, false, mark);
  assert.deepEqual(writesOf(device, GATE_A.unit, mark).map((w) => w.values[0]), [false], 'only the sentinel lock was written');
});

test('sent_at in the future beyond the clock skew allowance: bad_request, nothing written', async (t) => {
  const { client, results } = await startSession(t, device, GATE_A, { commands: { max_age_ms: MAX_AGE_MS, clock_skew_ms: SKEW_MS } });
  const mark = device.writes.length;

  const id = uniqueId('future');
  await sendCommand(client, GATE_A, 'unlock', { id, sent_at: Date.now() + 60_000 });
  const result = await resultFor(results, id);
  assert.equal(result.code, 'bad_request');
  assert.match(result.message, /future/);

  // Within the allowance it runs.
  const slightlyAhead = uniqueId('ahead');
  await sendCommand(client, GATE_A, 'lock', { id: slightlyAhead, sent_at: Date.now() + SKEW_MS / 5 });
  assert.equal((await resultFor(results, slightlyAhead)).status, 'ok');
  await waitForCoil(device, GATE_A.unit, 0, false, mark);
  assert.deepEqual(writesOf(device, GATE_A.unit, mark).map((w) => w.values[0]), [false]);
});

test('ttl_ms with sent_at replaces the default max age, shorter or longer', async (t) => {
  const { client, results } = await startSession(t, device, GATE_A, { commands: { max_age_ms: MAX_AGE_MS, clock_skew_ms: SKEW_MS } });
  const mark = device.writes.length;

  // 3 s old: past the default max age, yet within its own 60 s ttl.
  const longTtl = uniqueId('long-ttl');
  await sendCommand(client, GATE_A, 'lock', { id: longTtl, sent_at: Date.now() - 3000, ttl_ms: 60_000 });
  assert.equal((await resultFor(results, longTtl)).status, 'ok');
  // 900 ms old: within the default max age, but past its own 100 ms ttl and the skew.
  const shortTtl = uniqueId('short-ttl');
  await sendCommand(client, GATE_A, 'unlock', { id: shortTtl, sent_at: Date.now() - 900, ttl_ms: 100 });
  const expired = await resultFor(results, shortTtl);
  assert.equal(expired.code, 'expired');

  await waitForCoil(device, GATE_A.unit, 0, false, mark);
  assert.deepEqual(writesOf(device, GATE_A.unit, mark).map((w) => w.values[0]), [false], 'only the long-ttl lock ran');
});

test('ttl_ms alone bounds the wait in the gateway queue: a command queued too long expires unexecuted', async (t) => {
  const { client, results } = await startSession(t, device, TURNSTILE, { turnstile: { pulse_ms: 500 } });
  const mark = device.writes.length;

  const busy = uniqueId('slow-pass');
  const late = uniqueId('late-pass');
  await Promise.all([
    sendCommand(client, TURNSTILE, 'pass', { id: busy, direction: 'in' }),
    sendCommand(client, TURNSTILE, 'pass', { id: late, direction: 'out', ttl_ms: 50 }),
  ]);
  const lateResult = await resultFor(results, late);
  assert.equal(lateResult.code, 'expired');
  assert.match(lateResult.message, /ttl_ms/);
  assert.equal((await resultFor(results, busy)).status, 'ok');
  await waitForCoil(device, TURNSTILE.unit, 0, false, mark);
  assert.deepEqual(
    writesOf(device, TURNSTILE.unit, mark).map((w) => [w.address, w.values[0]]),
    [[0, true], [0, false]],
    'the expired pass out never pulsed coil 1',
  );
});
