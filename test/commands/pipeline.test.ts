// The pipeline's rules, against a scripted device. The real devices, driver and broker are
// exercised end to end in test/gateway/.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { MemoryJournal } from '../../src/commands/journal.js';
import { MemoryLedger } from '../../src/commands/ledger.js';
import { CommandPipeline, type CommandInput, type CommandTarget } from '../../src/commands/pipeline.js';
import type { CommandResult } from '../../src/commands/result.js';
import { DeviceError } from '../../src/driver-api.js';
import { parseFields } from '../../src/config/fields.js';
import { gateKind } from '../../src/devices/kinds/gate.js';

const settings = { on_start: 'lock', unlock_ms: 5000, max_unlock_ms: 60_000, held_open_ms: 30_000, relock_grace_ms: 1500 };
const silent = { info() {}, warn() {}, debug() {} };

class ScriptedGate implements CommandTarget {
  readonly kind = gateKind;
  availability: 'online' | 'offline' = 'online';
  readonly config = { command_timeout_ms: 1000 };
  readonly calls: { command: string; args: Record<string, unknown> }[] = [];
  /** When set, execute waits for this before resolving. */
  gate: Promise<void> | undefined;
  failWith: Error | undefined;
  constructor(readonly id: string) {}
  parseArgs(command: string, args: Record<string, unknown>) {
    const def = this.kind.commands[command];
    return parseFields(args, typeof def.args === 'function' ? def.args(settings) : def.args, def.required);
  }
  async execute(command: string, args: Record<string, unknown>) {
    this.calls.push({ command, args });
    await this.gate;
    if (this.failWith) throw this.failWith;
    return { done: command };
  }
}

function setup(opts: { queueLimit?: number; now?: () => number } = {}) {
  const gates = new Map([['g1', new ScriptedGate('g1')], ['g2', new ScriptedGate('g2')]]);
  const published: CommandResult[] = [];
  const ledger = new MemoryLedger();
  const journal = new MemoryJournal();
  const pipeline = new CommandPipeline({
    findDevice: (kind, id) => (kind === 'gate' ? gates.get(id) : undefined),
    describeDevice: (id) => (gates.has(id) ? 'gate' : id === 't1' ? 'turnstile' : undefined),
    ledger,
    journal,
    publishResult: (r) => published.push(r),
    policy: { maxAgeMs: 30_000, clockSkewMs: 2000, queueLimit: opts.queueLimit ?? 16 },
    log: silent,
    now: opts.now,
  });
  return { pipeline, gates, published, ledger, journal, g1: gates.get('g1')! };
}

function cmd(payload: unknown, extra: Partial<CommandInput> = {}): CommandInput {
  const text = payload === undefined ? '' : typeof payload === 'string' ? payload : JSON.stringify(payload);
  return { kind: 'gate', device: 'g1', command: 'unlock', payload: new TextEncoder().encode(text), source: 'local', authorized: true, clientId: 'c1', username: 'guard', peer: '127.0.0.1:1', ...extra };
}

function deferred() {
  let release!: () => void;
  const promise = new Promise<void>((r) => (release = r));
  return { promise, release };
}

describe('command pipeline', () => {
  it('runs an accepted command and publishes exactly one ok result with timing', async () => {
    const { pipeline, published, g1, journal } = setup();
    const result = await pipeline.submit(cmd({ id: 'a', duration_ms: 2000 }));
    assert.equal(result.status, 'ok');
    assert.deepEqual(g1.calls, [{ command: 'unlock', args: { duration_ms: 2000 } }]);
    assert.equal(published.length, 1);
    assert.deepEqual(published[0].data, { done: 'unlock' });
    assert.ok(result.timing.total_ms >= 0 && result.timing.started_at! >= result.timing.received_at);
    const [entry] = journal.query({});
    assert.equal(entry.command_id, 'a');
    assert.equal(entry.username, 'guard');
    assert.equal(entry.payload, '{"id":"a","duration_ms":2000}');
  });

  it('assigns an id when the payload has none', async () => {
    const { pipeline } = setup();
    const result = await pipeline.submit(cmd(undefined));
    assert.match(result.id, /^[0-9a-f-]{36}$/);
  });

  it('answers forbidden before anything else, and does not burn the id', async () => {
    const { pipeline, g1, published } = setup();
    const denied = await pipeline.submit(cmd({ id: 'x' }, { authorized: false }));
    assert.equal(denied.code, 'forbidden');
    assert.equal(denied.id, 'x');
    const allowed = await pipeline.submit(cmd({ id: 'x' }));
    assert.equal(allowed.status, 'ok');
    assert.equal(allowed.duplicate, undefined);
    assert.equal(g1.calls.length, 1);
    assert.equal(published.length, 2);
  });

  it('answers bad_request, unknown_device and unknown_command without touching the device', async () => {
    const { pipeline, g1 } = setup();
    assert.equal((await pipeline.submit(cmd('{oops'))).code, 'bad_request');
    assert.equal((await pipeline.submit(cmd({ duration_ms: 'long' }))).code, 'bad_request');
    assert.equal((await pipeline.submit(cmd({ duration_ms: 99 }))).code, 'bad_request');
    assert.equal((await pipeline.submit(cmd({ duration_ms: 60_001 }))).code, 'bad_request');
    assert.equal((await pipeline.submit(cmd({ colour: 'red' }))).code, 'bad_request');
    const unknown = await pipeline.submit(cmd({}, { device: 'nope' }));
    assert.equal(unknown.code, 'unknown_device');
    const wrongKind = await pipeline.submit(cmd({}, { device: 't1' }));
    assert.equal(wrongKind.code, 'unknown_device');
    assert.match(wrongKind.message, /t1 is a turnstile/);
    const badCommand = await pipeline.submit(cmd({}, { command: 'explode' }));
    assert.equal(badCommand.code, 'unknown_command');
    assert.match(badCommand.message, /unlock, lock/);
    assert.equal(g1.calls.length, 0);
  });

  it('never runs a repeated id twice: the first result is re-sent with duplicate: true', async () => {
    const { pipeline, g1, journal } = setup();
    const first = await pipeline.submit(cmd({ id: 'd1' }));
    const again = await pipeline.submit(cmd({ id: 'd1', duration_ms: 9000 }));
    assert.equal(g1.calls.length, 1);
    assert.deepEqual({ ...again, duplicate: undefined }, { ...first, duplicate: undefined });
    assert.equal(again.duplicate, true);
    assert.deepEqual(journal.query({}).map((e) => e.duplicate ?? false), [false, true]);
  });

  it('journals a duplicate at the time it arrived, with its own sender, not at the first one\'s time', async () => {
    let clock = 1_000_000;
    const { pipeline, journal } = setup({ now: () => clock });
    const first = await pipeline.submit(cmd({ id: 'late-copy' }));
    clock += 3_600_000;
    const again = await pipeline.submit(cmd({ id: 'late-copy' }, { clientId: 'c2', username: 'night-guard' }));
    assert.deepEqual(again.timing, first.timing, 'the result sent again is the first one');
    const [original, copy] = journal.query({});
    assert.equal(original.at, first.timing.finished_at);
    assert.equal(copy.duplicate, true);
    assert.equal(copy.at, 1_000_000 + 3_600_000, 'when the copy really arrived');
    assert.equal(copy.latency_ms, 0);
    assert.equal(copy.client_id, 'c2');
    assert.equal(copy.username, 'night-guard');
  });

  it('a duplicate that waits for the first result is journaled at its arrival, its latency the wait', async () => {
    let clock = 5000;
    const { pipeline, g1, journal } = setup({ now: () => clock });
    const hold = deferred();
    g1.gate = hold.promise;
    const first = pipeline.submit(cmd({ id: 'waiting-copy' }));
    await sleep(5);
    clock = 5200;
    const second = pipeline.submit(cmd({ id: 'waiting-copy' }));
    await sleep(5);
    clock = 5700;
    hold.release();
    await Promise.all([first, second]);
    const copy = journal.query({}).find((e) => e.duplicate)!;
    assert.equal(copy.at, 5200);
    assert.equal(copy.latency_ms, 500);
  });

  it('a duplicate arriving while the first still runs waits for its result', async () => {
    const { pipeline, g1 } = setup();
    const hold = deferred();
    g1.gate = hold.promise;
    const first = pipeline.submit(cmd({ id: 'd2' }));
    const second = pipeline.submit(cmd({ id: 'd2' }));
    await sleep(10);
    hold.release();
    const [a, b] = await Promise.all([first, second]);
    assert.equal(g1.calls.length, 1);
    assert.equal(a.status, 'ok');
    assert.equal(b.duplicate, true);
    assert.equal(b.status, 'ok');
  });

  it('the same id on another device is another command', async () => {
    const { pipeline, gates } = setup();
    await pipeline.submit(cmd({ id: 'same' }));
    const other = await pipeline.submit(cmd({ id: 'same' }, { device: 'g2' }));
    assert.equal(other.duplicate, undefined);
    assert.equal(gates.get('g2')!.calls.length, 1);
  });

  it('a QoS 1 retransmission (DUP) of a command without id maps to the same id', async () => {
    const { pipeline, g1 } = setup();
    const delivery = { clientId: 'c1', messageId: 7, dup: false };
    const first = await pipeline.submit(cmd(undefined, { delivery }));
    const retry = await pipeline.submit(cmd(undefined, { delivery: { ...delivery, dup: true } }));
    assert.equal(retry.id, first.id);
    assert.equal(retry.duplicate, true);
    assert.equal(g1.calls.length, 1);
    const reused = await pipeline.submit(cmd(undefined, { delivery }));
    assert.notEqual(reused.id, first.id, 'a new message reusing the packet id is a new command');
  });

  it('expires old commands and rejects future ones without touching the device', async () => {
    const { pipeline, g1 } = setup();
    assert.equal((await pipeline.submit(cmd({ sent_at: Date.now() - 60_000 }))).code, 'expired');
    assert.equal((await pipeline.submit(cmd({ sent_at: Date.now() - 5000, ttl_ms: 1000 }))).code, 'expired');
    assert.equal((await pipeline.submit(cmd({ sent_at: Date.now() + 60_000 }))).code, 'bad_request');
    assert.equal((await pipeline.submit(cmd({ sent_at: Date.now() - 100, ttl_ms: 5000 }))).status, 'ok');
    assert.equal(g1.calls.length, 1);
  });

  it('expires a command that waited too long in the device queue', async () => {
    const { pipeline, g1 } = setup();
    const hold = deferred();
    g1.gate = hold.promise;
    const blocker = pipeline.submit(cmd({ id: 'b' }));
    const waiting = pipeline.submit(cmd({ id: 'w', ttl_ms: 20 }));
    await sleep(60);
    hold.release();
    assert.equal((await blocker).status, 'ok');
    assert.equal((await waiting).code, 'expired');
    assert.equal(g1.calls.length, 1);
  });

  it('fails fast with offline when the device is offline', async () => {
    const { pipeline, g1 } = setup();
    g1.availability = 'offline';
    assert.equal((await pipeline.submit(cmd({}))).code, 'offline');
    assert.equal(g1.calls.length, 0);
  });

  it('runs one command at a time per device, in arrival order', async () => {
    const { pipeline, g1 } = setup();
    const hold = deferred();
    g1.gate = hold.promise;
    const results = [1, 2, 3].map((n) => pipeline.submit(cmd({ id: `o${n}`, duration_ms: 1000 * n })));
    await sleep(10);
    assert.equal(g1.calls.length, 1, 'only the first runs while it is busy');
    hold.release();
    await Promise.all(results);
    assert.deepEqual(g1.calls.map((c) => c.args.duration_ms), [1000, 2000, 3000]);
  });

  it('answers busy when the device queue is full', async () => {
    const { pipeline, g1 } = setup({ queueLimit: 2 });
    const hold = deferred();
    g1.gate = hold.promise;
    const queued = [pipeline.submit(cmd({ id: 'q1' })), pipeline.submit(cmd({ id: 'q2' }))];
    const busy = await pipeline.submit(cmd({ id: 'q3' }));
    assert.equal(busy.code, 'busy');
    hold.release();
    assert.deepEqual((await Promise.all(queued)).map((r) => r.status), ['ok', 'ok']);
    assert.equal(g1.calls.length, 2);
  });

  it('times out a running command with exactly one result, and one still queued without running it', async () => {
    const { pipeline, g1, published } = setup();
    g1.config.command_timeout_ms = 50;
    const hold = deferred();
    g1.gate = hold.promise;
    const running = pipeline.submit(cmd({ id: 't1' }));
    const queued = pipeline.submit(cmd({ id: 't2' }));
    const [r1, r2] = await Promise.all([running, queued]);
    assert.equal(r1.code, 'timeout');
    assert.match(r1.message, /outcome is unknown/);
    assert.equal(r2.code, 'timeout');
    assert.match(r2.message, /not executed/);
    hold.release();
    await sleep(20);
    assert.equal(g1.calls.length, 1, 'the queued command never ran');
    assert.equal(published.length, 2, 'no late second result');
  });

  it('passes device error codes through', async () => {
    const { pipeline, g1 } = setup();
    g1.failWith = new DeviceError('timeout', 'no answer from unit 1');
    assert.equal((await pipeline.submit(cmd({}))).code, 'timeout');
    g1.failWith = new Error('boom');
    const r = await pipeline.submit(cmd({}));
    assert.equal(r.code, 'device_error');
    assert.equal(r.message, 'boom');
  });

  it('gives commands interrupted by a stop their one terminal result, and never runs them', async () => {
    const { pipeline, ledger, published, g1 } = setup();
    ledger.claim('gate/g1', 'lost', Date.now() - 1000, { command: 'unlock', source: 'cloud', client_id: 'c9' });
    const recovered = await pipeline.recoverInterrupted();
    assert.equal(recovered.length, 1);
    assert.equal(published[0].id, 'lost');
    assert.equal(published[0].code, 'device_error');
    assert.equal(published[0].source, 'cloud');
    const retry = await pipeline.submit(cmd({ id: 'lost' }));
    assert.equal(retry.duplicate, true);
    assert.equal(g1.calls.length, 0);
  });

  it('gives every one of many concurrent commands exactly one result', async () => {
    const { pipeline, published, gates } = setup({ queueLimit: 100 });
    const submissions = Array.from({ length: 60 }, (_, i) => pipeline.submit(cmd({ id: `m${i}` }, { device: i % 2 ? 'g1' : 'g2' })));
    const results = await Promise.all(submissions);
    assert.equal(new Set(results.map((r) => r.id)).size, 60);
    assert.equal(published.length, 60);
    assert.equal(gates.get('g1')!.calls.length + gates.get('g2')!.calls.length, 60);
  });

  it('rejects argument names that only exist on Object.prototype', async () => {
    const { pipeline, g1 } = setup();
    for (const key of ['constructor', 'toString', 'hasOwnProperty', '__proto__']) {
      const r = await pipeline.submit(cmd(`{"id":"p-${key}","${key}":1}`));
      assert.equal(r.code, 'bad_request', key);
    }
    assert.equal(g1.calls.length, 0);
  });

  it('a sent_at in the future does not claim the id: the corrected retry runs', async () => {
    const { pipeline, g1 } = setup();
    assert.equal((await pipeline.submit(cmd({ id: 'clock', sent_at: Date.now() + 60_000 }))).code, 'bad_request');
    const retry = await pipeline.submit(cmd({ id: 'clock', sent_at: Date.now() }));
    assert.equal(retry.status, 'ok');
    assert.equal(retry.duplicate, undefined);
    assert.equal(g1.calls.length, 1);
  });
});

