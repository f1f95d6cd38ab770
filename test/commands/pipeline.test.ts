// The pipeline's rules, against a scripted device. The real devices, driver and broker are
// exercised end to end in test/gateway/.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MemoryJournal } from '../../src/commands/journal.js';
import { MemoryLedger } from '../../src/commands/ledger.js';
import { CommandPipeline, type CommandInput, type CommandTarget } from '../../src/commands/pipeline.js';
import { CommandRejection, type CommandResult } from '../../src/commands/result.js';
import { DeviceError } from '../../src/driver-api.js';
import { parseFields } from '../../src/config/fields.js';
import { gateKind } from '../../src/devices/kinds/gate.js';
import { openMemoryDatabase } from '../../src/store/database.js';
import { SqliteJournal } from '../../src/store/sqlite-journal.js';
import { SqliteLedger } from '../../src/store/sqlite-ledger.js';
import { until } from '../support/wait.js';

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

/**
 * With memory stores every step of the pipeline is a microtask: one turn of the event loop lets
 * all that is due run (no time has to pass), e.g. a duplicate reaching its wait for the first result.
 */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

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
    await until('the first command reached the gate', () => g1.calls.length === 1);
    clock = 5200;
    const second = pipeline.submit(cmd({ id: 'waiting-copy' }));
    await settle();
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
    await until('the first command reached the gate', () => g1.calls.length === 1);
    await settle();
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
    let clock = 10_000;
    const { pipeline, g1 } = setup({ now: () => clock });
    const hold = deferred();
    g1.gate = hold.promise;
    const blocker = pipeline.submit(cmd({ id: 'b' }));
    const waiting = pipeline.submit(cmd({ id: 'w', ttl_ms: 20 }));
    await until('the blocker reached the gate', () => g1.calls.length === 1);
    clock += 21;
    hold.release();
    assert.equal((await blocker).status, 'ok');
    assert.equal((await waiting).code, 'expired');
    assert.equal(g1.calls.length, 1);
  });

  it('fails fast with offline when the device is offline', async () => {
    const { pipeline, g1 } = setup();
    g1.availability = 'offline';
    const r = await pipeline.submit(cmd({}));
    assert.equal(r.code, 'offline');
    assert.equal(r.message, 'gate g1 is offline');
    assert.equal(g1.calls.length, 0);
  });

  it('runs one command at a time per device, in arrival order', async () => {
    const { pipeline, g1 } = setup();
    const hold = deferred();
    g1.gate = hold.promise;
    const results = [1, 2, 3].map((n) => pipeline.submit(cmd({ id: `o${n}`, duration_ms: 1000 * n })));
    await until('the first command reached the gate', () => g1.calls.length === 1);
    await settle();
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
    // The sentinel runs after the timed-out command has really finished (one at a time per gate).
    g1.config.command_timeout_ms = 1000;
    g1.gate = undefined;
    assert.equal((await pipeline.submit(cmd({ id: 'sentinel' }))).status, 'ok');
    assert.deepEqual(g1.calls.map((c) => c.command), ['unlock', 'unlock'], 't1 and the sentinel ran; the queued t2 never did');
    assert.deepEqual(published.map((r) => r.id), ['t1', 't2', 'sentinel'], 'no late second result for t1');
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


const TRIGGER = { link: 'badge-opens', step: 0, kind: 'gate', device: 'reader-1', event: 'badge', at: 900 };

/** A logger that keeps what it was told, to check what an operator would read. */
function recordingLog() {
  const lines: { level: string; obj: Record<string, unknown>; msg?: string }[] = [];
  const at = (level: string) => (obj: object, msg?: string) => lines.push({ level, obj: obj as Record<string, unknown>, msg });
  return { lines, log: { info: at('info'), warn: at('warn'), debug: at('debug') } };
}

describe('command pipeline: messages, timing, journal and stop', () => {
  it('says who may not send what, with and without a user name', async () => {
    const { pipeline } = setup();
    assert.equal((await pipeline.submit(cmd({}, { authorized: false }))).message, 'user "guard" may not send unlock to gate/g1');
    assert.equal((await pipeline.submit(cmd({}, { authorized: false, username: undefined }))).message, 'this client may not send unlock to gate/g1');
  });

  it('refuses a delivery the carrier found unusable with its problem, before parsing or claiming the id', async () => {
    const { pipeline, g1 } = setup();
    const refused = await pipeline.submit(cmd({ id: 'rt' }, { deliveryProblem: 'response topic site/x/# is not allowed' }));
    assert.equal(refused.code, 'bad_request');
    assert.equal(refused.message, 'response topic site/x/# is not allowed');
    assert.equal((await pipeline.submit(cmd({ id: 'rt' }))).duplicate, undefined, 'the id was not burnt');
    assert.equal(g1.calls.length, 1);
  });

  it('names the unknown device, and a command name only found on Object.prototype is unknown', async () => {
    const { pipeline, g1 } = setup();
    assert.equal((await pipeline.submit(cmd({}, { device: 'nope' }))).message, 'no gate named nope');
    for (const command of ['constructor', 'toString', '__proto__']) {
      const r = await pipeline.submit(cmd({}, { command }));
      assert.equal(r.code, 'unknown_command', command);
      assert.equal(r.message, `a gate has no command ${command} (known: unlock, lock)`);
    }
    assert.equal(g1.calls.length, 0);
  });

  it('lists every bad argument by name', async () => {
    const { pipeline } = setup();
    const r = await pipeline.submit(cmd({ duration_ms: 'long', colour: 'red' }));
    assert.equal(r.code, 'bad_request');
    assert.equal(r.message, 'colour unknown key (allowed: duration_ms); duration_ms must be an integer, got "long"');
  });

  it('a sent_at in the future is refused with the clock check\'s own message', async () => {
    const { pipeline } = setup();
    const r = await pipeline.submit(cmd({ sent_at: Date.now() + 60_000 }));
    assert.equal(r.code, 'bad_request');
    assert.match(r.message, /sent_at/);
  });

  it('refuses a command whose carrier deadline has passed, and runs one whose deadline is ahead', async () => {
    const { pipeline, g1 } = setup();
    assert.equal((await pipeline.submit(cmd({ id: 'late' }, { expiresAt: Date.now() - 1 }))).code, 'expired');
    assert.equal((await pipeline.submit(cmd({ id: 'in-time' }, { expiresAt: Date.now() + 60_000 }))).status, 'ok');
    assert.deepEqual(g1.calls.length, 1);
  });

  it('times each step from the pipeline clock: received, started, finished, queued, run and total', async () => {
    let clock = 1000;
    const { pipeline, g1, journal } = setup({ now: () => clock });
    const hold = deferred();
    g1.gate = hold.promise;
    const running = pipeline.submit(cmd({ id: 'timed', duration_ms: 2000 }, { source: 'link', trigger: TRIGGER }));
    await until('the device is running the command', () => g1.calls.length === 1);
    clock = 1300;
    hold.release();
    const result = await running;
    assert.deepEqual(result, {
      id: 'timed',
      command: 'unlock',
      status: 'ok',
      message: 'unlock done',
      source: 'link',
      kind: 'gate',
      device: 'g1',
      trigger: TRIGGER,
      data: { done: 'unlock' },
      timing: { received_at: 1000, started_at: 1000, finished_at: 1300, queued_ms: 0, run_ms: 300, total_ms: 300 },
    });
    const [{ seq: _seq, ...entry }] = journal.query({});
    assert.deepEqual(entry, {
      at: 1300,
      type: 'command',
      kind: 'gate',
      device: 'g1',
      command: 'unlock',
      command_id: 'timed',
      source: 'link',
      client_id: 'c1',
      username: 'guard',
      peer: '127.0.0.1:1',
      payload: '{"id":"timed","duration_ms":2000}',
      status: 'ok',
      code: undefined,
      message: 'unlock done',
      latency_ms: 300,
      duplicate: false,
    });
  });

  it('a refused command\'s result has no run timing, and its journal entry the code and message', async () => {
    let clock = 50;
    const { pipeline, journal } = setup({ now: () => clock++ });
    const r = await pipeline.submit(cmd({ id: 'nobody' }, { device: 'nope' }));
    assert.deepEqual(r, {
      id: 'nobody',
      command: 'unlock',
      status: 'error',
      code: 'unknown_device',
      message: 'no gate named nope',
      source: 'local',
      kind: 'gate',
      device: 'nope',
      timing: { received_at: 50, finished_at: 51, total_ms: 1 },
    });
    const [entry] = journal.query({});
    assert.equal(entry.status, 'error');
    assert.equal(entry.code, 'unknown_device');
    assert.equal(entry.message, 'no gate named nope');
    assert.equal(entry.latency_ms, 1);
  });

  it('a device rejection keeps its data; a thrown non-Error is a device_error with its text', async () => {
    const { pipeline, g1 } = setup();
    g1.failWith = new CommandRejection('busy', 'door is held open', { open_ms: 4000 });
    const r = await pipeline.submit(cmd({}));
    assert.equal(r.code, 'busy');
    assert.equal(r.message, 'door is held open');
    assert.deepEqual(r.data, { open_ms: 4000 });
    g1.failWith = 'wire cut' as never;
    const odd = await pipeline.submit(cmd({}));
    assert.equal(odd.code, 'device_error');
    assert.equal(odd.message, 'wire cut');
    assert.equal(odd.data, undefined);
  });

  it('says how long a timed-out command waited or ran, naming the device', async () => {
    const { pipeline, g1 } = setup();
    g1.config.command_timeout_ms = 40;
    const hold = deferred();
    g1.gate = hold.promise;
    const [running, queued] = await Promise.all([pipeline.submit(cmd({ id: 'r' })), pipeline.submit(cmd({ id: 'q' }))]);
    assert.equal(running.message, 'g1 did not finish within 40 ms; the outcome is unknown');
    assert.equal(queued.message, 'waited 40 ms behind other commands for g1 without starting; not executed');
    hold.release();
  });

  it('an id whose claim has no result and no run under way (a restart in between) is answered, never run', async () => {
    const { pipeline, ledger, g1 } = setup();
    ledger.claim('gate/g1', 'half-done', Date.now() - 10, { command: 'unlock', source: 'local' });
    const r = await pipeline.submit(cmd({ id: 'half-done' }));
    assert.equal(r.code, 'device_error');
    assert.equal(r.id, 'half-done');
    assert.equal(r.duplicate, true);
    assert.match(r.message, /interrupted by a gateway restart/);
    assert.equal(g1.calls.length, 0);
  });

  it('a command whose id cannot be recorded is refused with the storage error and never run', async () => {
    const db = openMemoryDatabase();
    const ledger = new SqliteLedger(db);
    db.close();
    const gate = new ScriptedGate('g1');
    const { lines, log } = recordingLog();
    const pipeline = new CommandPipeline({
      findDevice: () => gate,
      describeDevice: () => undefined,
      ledger,
      journal: new MemoryJournal(),
      publishResult: () => undefined,
      policy: { maxAgeMs: 30_000, clockSkewMs: 2000, queueLimit: 16 },
      log,
    });
    const r = await pipeline.submit(cmd({ id: 'unrecorded' }));
    assert.equal(r.code, 'device_error');
    assert.match(r.message, /^could not record the command \(storage error: .+\); not executed$/);
    assert.equal(gate.calls.length, 0);
    assert.ok(lines.some((l) => l.level === 'warn' && l.msg === 'could not record a command id' && l.obj.id === 'unrecorded'));
  });

  it('the result is published only once its completion and journal row are committed', async () => {
    const gate = new ScriptedGate('g1');
    const ledger = new MemoryLedger();
    const journal = new MemoryJournal();
    const published: CommandResult[] = [];
    // The claim commits at once; later writes wait until the test lets them through.
    const held: (() => void)[] = [];
    let claims = 0;
    const commit = <T>(write: () => T): Promise<T> =>
      claims++ === 0 ? Promise.resolve(write()) : new Promise<T>((resolve) => held.push(() => resolve(write())));
    const pipeline = new CommandPipeline({
      findDevice: () => gate,
      describeDevice: () => undefined,
      ledger,
      journal,
      commit,
      publishResult: (r) => published.push(r),
      policy: { maxAgeMs: 30_000, clockSkewMs: 2000, queueLimit: 16 },
      log: silent,
    });
    const submitted = pipeline.submit(cmd({ id: 'held' }));
    await until('the completion and the journal row handed to the commit', () => held.length === 2);
    assert.equal(gate.calls.length, 1, 'the gate was commanded');
    await settle();
    assert.equal(published.length, 0, 'nothing published while the completion is not on disk');
    held.forEach((release) => release());
    assert.equal((await submitted).status, 'ok');
    assert.deepEqual(published.map((r) => r.id), ['held']);
    assert.equal(ledger.get('gate/g1', 'held')?.result?.status, 'ok');
  });

  it('a journal write that fails is logged, and the result is still published', async () => {
    const db = openMemoryDatabase();
    const journal = new SqliteJournal(db);
    db.close();
    const gate = new ScriptedGate('g1');
    const published: CommandResult[] = [];
    const { lines, log } = recordingLog();
    const pipeline = new CommandPipeline({
      findDevice: () => gate,
      describeDevice: () => undefined,
      ledger: new MemoryLedger(),
      journal,
      publishResult: (r) => published.push(r),
      policy: { maxAgeMs: 30_000, clockSkewMs: 2000, queueLimit: 16 },
      log,
    });
    assert.equal((await pipeline.submit(cmd({ id: 'kept' }))).status, 'ok');
    const warning = await until('the failed journal write is logged', () => lines.find((l) => l.msg === 'could not write to the command journal'));
    assert.match(String(warning.obj.err), /database/i);
    assert.equal(published.length, 1);
  });

  it('logs a done command as info, a refused or repeated one as a warning with its code', async () => {
    const gate = new ScriptedGate('g1');
    const { lines, log } = recordingLog();
    const pipeline = new CommandPipeline({
      findDevice: () => gate,
      describeDevice: () => undefined,
      ledger: new MemoryLedger(),
      journal: new MemoryJournal(),
      publishResult: () => undefined,
      policy: { maxAgeMs: 30_000, clockSkewMs: 2000, queueLimit: 16 },
      log,
    });
    await pipeline.submit(cmd({ id: 'l1' }));
    await pipeline.submit(cmd({ id: 'l1' }));
    await pipeline.submit(cmd({ id: 'l2' }, { authorized: false }));
    assert.deepEqual(
      lines.map((l) => [l.level, l.msg, l.obj.id, l.obj.code, l.obj.duplicate]),
      [
        ['info', 'command done', 'l1', undefined, undefined],
        ['warn', 'duplicate command answered', 'l1', undefined, true],
        ['warn', 'command rejected', 'l2', 'forbidden', false],
      ],
    );
    assert.deepEqual(lines[0].obj, { id: 'l1', device: 'g1', command: 'unlock', source: 'local', code: undefined, ms: lines[0].obj.ms });
    assert.equal(lines[2].obj.message, 'user "guard" may not send unlock to gate/g1');
  });

  it('a new policy applies to the next command (a lowered queue limit answers busy)', async () => {
    const { pipeline, g1 } = setup({ queueLimit: 16 });
    const hold = deferred();
    g1.gate = hold.promise;
    const first = pipeline.submit(cmd({ id: 'p1' }));
    pipeline.setPolicy({ maxAgeMs: 30_000, clockSkewMs: 2000, queueLimit: 1 });
    const busy = await pipeline.submit(cmd({ id: 'p2' }));
    assert.equal(busy.code, 'busy');
    assert.equal(busy.message, '1 commands already queued for g1; try again later');
    hold.release();
    assert.equal((await first).status, 'ok');
  });

  it('close refuses new commands with offline and waits for the accepted ones to finish', async () => {
    const { pipeline, g1 } = setup();
    const hold = deferred();
    g1.gate = hold.promise;
    const accepted = pipeline.submit(cmd({ id: 'before-stop' }));
    await until('the device is running the command', () => g1.calls.length === 1);
    let closed = false;
    const closing = pipeline.close().then(() => (closed = true));
    const refused = await pipeline.submit(cmd({ id: 'after-stop' }));
    assert.equal(refused.code, 'offline');
    assert.match(refused.message, /stopping/);
    assert.equal(closed, false, 'close waits for the command under way');
    hold.release();
    await closing;
    assert.equal((await accepted).status, 'ok');
    assert.equal(g1.calls.length, 1);
  });

  it('runWhenIdle runs work on an idle device, ahead of commands that arrive meanwhile, and close waits for it', async () => {
    const { pipeline, g1 } = setup();
    const order: string[] = [];
    const hold = deferred();
    const started = deferred();
    const idle = pipeline.runWhenIdle('gate', 'g1', async () => {
      order.push('work');
      started.release();
      await hold.promise;
      return 42;
    });
    assert.ok('run' in idle);
    await started.promise;
    assert.deepEqual(pipeline.runWhenIdle('gate', 'g1', async () => 0), { refused: 'busy', message: 'g1 is busy: 1 command running or queued' });
    const later = pipeline.submit(cmd({ id: 'after-work' }));
    const busy = await until('the command is queued behind the work', () => {
      const r = pipeline.runWhenIdle('gate', 'g1', async () => 0);
      return 'refused' in r && r.message.startsWith('g1 is busy: 2') && r;
    });
    assert.deepEqual(busy, { refused: 'busy', message: 'g1 is busy: 2 commands running or queued' });
    let closed = false;
    const closing = pipeline.close().then(() => (closed = true));
    assert.equal(g1.calls.length, 0, 'the command waits behind the work');
    hold.release();
    assert.equal(await idle.run, 42);
    assert.equal((await later).status, 'ok');
    await closing;
    assert.equal(closed, true);
    assert.deepEqual(pipeline.runWhenIdle('gate', 'g1', async () => 0), { refused: 'stopping', message: 'gatehouse is stopping' });
  });

  it('runWhenIdle says one command in the singular, and a failing work rejects its run', async () => {
    const { pipeline, g1 } = setup();
    const hold = deferred();
    g1.gate = hold.promise;
    const running = pipeline.submit(cmd({ id: 'one' }));
    await until('the device is running the command', () => g1.calls.length === 1);
    assert.deepEqual(pipeline.runWhenIdle('gate', 'g1', async () => 0), { refused: 'busy', message: 'g1 is busy: 1 command running or queued' });
    hold.release();
    await running;
    const failing = await until('the device is idle again', () => {
      const r = pipeline.runWhenIdle('gate', 'g1', async () => {
        throw new Error('point not readable');
      });
      return 'run' in r && r;
    });
    await assert.rejects(failing.run, /point not readable/);
    await pipeline.close();
  });

  it('recovers an interrupted command of an unknown source as local, journaled and logged', async () => {
    const { lines, log } = recordingLog();
    const ledger = new MemoryLedger();
    const journal = new MemoryJournal();
    const published: CommandResult[] = [];
    const pipeline = new CommandPipeline({
      findDevice: () => undefined,
      describeDevice: () => undefined,
      ledger,
      journal,
      publishResult: (r) => published.push(r),
      policy: { maxAgeMs: 30_000, clockSkewMs: 2000, queueLimit: 16 },
      log,
    });
    ledger.claim('gate/g1', 'old', 700, { command: 'lock', source: 'telepathy', client_id: 'c7', username: 'u7' });
    const [result] = await pipeline.recoverInterrupted();
    assert.equal(result.source, 'local');
    assert.equal(result.timing.received_at, 700);
    assert.match(result.message, /stopped while this command was pending/);
    assert.deepEqual(published, [result]);
    const [entry] = journal.query({});
    assert.deepEqual([entry.command_id, entry.command, entry.code, entry.client_id, entry.username, entry.duplicate], ['old', 'lock', 'device_error', 'c7', 'u7', false]);
    assert.deepEqual(ledger.unfinished(), [], 'answered once, for good');
    assert.deepEqual(lines, [{ level: 'warn', obj: { id: 'old', device: 'g1', command: 'lock' }, msg: 'command interrupted by the previous stop answered: outcome unknown' }]);
  });

  it('a command cut off by a stop is recovered by the next start with its name, source and sender', async () => {
    const before = setup();
    const hold = deferred();
    before.g1.gate = hold.promise;
    void before.pipeline.submit(cmd({ id: 'cut-off' }, { source: 'cloud', clientId: 'c5', username: 'night-guard' }));
    await until('the device is running the command', () => before.g1.calls.length === 1);
    const published: CommandResult[] = [];
    const afterRestart = new CommandPipeline({
      findDevice: () => undefined,
      describeDevice: () => undefined,
      ledger: before.ledger,
      journal: new MemoryJournal(),
      publishResult: (r) => published.push(r),
      policy: { maxAgeMs: 30_000, clockSkewMs: 2000, queueLimit: 16 },
      log: silent,
    });
    const [result] = await afterRestart.recoverInterrupted();
    assert.deepEqual([result.id, result.command, result.source, result.code], ['cut-off', 'unlock', 'cloud', 'device_error']);
    assert.deepEqual(published, [result]);
    hold.release();
  });

  it('a device answer that comes after the timeout is logged at debug, and no second result goes out', async () => {
    const gate = new ScriptedGate('g1');
    gate.config.command_timeout_ms = 30;
    const hold = deferred();
    gate.gate = hold.promise;
    gate.failWith = new Error('late failure');
    const published: CommandResult[] = [];
    const { lines, log } = recordingLog();
    const pipeline = new CommandPipeline({
      findDevice: () => gate,
      describeDevice: () => undefined,
      ledger: new MemoryLedger(),
      journal: new MemoryJournal(),
      publishResult: (r) => published.push(r),
      policy: { maxAgeMs: 30_000, clockSkewMs: 2000, queueLimit: 16 },
      log,
    });
    assert.equal((await pipeline.submit(cmd({ id: 'slow' }))).code, 'timeout');
    hold.release();
    const late = await until('the late answer is logged', () => lines.find((l) => l.level === 'debug'));
    assert.deepEqual(late, { level: 'debug', obj: { id: 'slow', err: 'Error: late failure' }, msg: 'command settled after its timeout' });
    assert.equal(published.length, 1);
  });

  it('a device failure within the timeout is not logged as a late answer', async () => {
    const { lines, log } = recordingLog();
    const gate = new ScriptedGate('g1');
    gate.failWith = new Error('refused by unit');
    const pipeline = new CommandPipeline({
      findDevice: () => gate,
      describeDevice: () => undefined,
      ledger: new MemoryLedger(),
      journal: new MemoryJournal(),
      publishResult: () => undefined,
      policy: { maxAgeMs: 30_000, clockSkewMs: 2000, queueLimit: 16 },
      log,
    });
    assert.equal((await pipeline.submit(cmd({ id: 'fails' }))).message, 'refused by unit');
    assert.deepEqual(lines.filter((l) => l.level === 'debug'), []);
  });
});
