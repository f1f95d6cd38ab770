// The link runner against the real command pipeline (in-memory ledger and journal) and scripted
// devices: steps in order with source `link`, stop at the first error, bounded bursts, stop().
// The whole path with a real gateway and camera is in test/gateway/camera-link.test.ts.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MemoryJournal } from '../../src/commands/journal.js';
import { MemoryLedger } from '../../src/commands/ledger.js';
import { CommandPipeline, type CommandInput, type CommandTarget } from '../../src/commands/pipeline.js';
import type { CommandResult } from '../../src/commands/result.js';
import { parseFields } from '../../src/config/fields.js';
import { gateKind } from '../../src/devices/kinds/gate.js';
import { turnstileKind } from '../../src/devices/kinds/turnstile.js';
import type { KindDefinition } from '../../src/devices/kinds/types.js';
import type { LinkConfig } from '../../src/links/link-config.js';
import { LinkRunner, type DeviceEvent } from '../../src/links/link-runner.js';
import { sleep, until } from '../support/wait.js';

const GATE_SETTINGS = { on_start: 'lock', unlock_ms: 5000, max_unlock_ms: 60_000, held_open_ms: 30_000, relock_grace_ms: 1500 };

interface LogLine {
  level: string;
  obj: Record<string, unknown>;
}

class ScriptedDevice implements CommandTarget {
  availability: 'online' | 'offline' = 'online';
  readonly config = { command_timeout_ms: 5000 };
  readonly calls: { command: string; args: Record<string, unknown> }[] = [];
  /** While set, execute waits for it. */
  hold: Promise<void> | undefined;
  constructor(
    readonly id: string,
    readonly kind: KindDefinition,
  ) {}
  parseArgs(command: string, args: Record<string, unknown>) {
    const def = this.kind.commands[command];
    return parseFields(args, typeof def.args === 'function' ? def.args(GATE_SETTINGS) : def.args, def.required);
  }
  async execute(command: string, args: Record<string, unknown>) {
    this.calls.push({ command, args });
    await this.hold;
    return { done: command };
  }
}

function deferred() {
  let release!: () => void;
  const promise = new Promise<void>((r) => (release = r));
  return { promise, release };
}

function setup(links: LinkConfig[], opts: { queueLimit?: number } = {}) {
  const devices = new Map<string, ScriptedDevice>([
    ['gate-a', new ScriptedDevice('gate-a', gateKind)],
    ['gate-b', new ScriptedDevice('gate-b', gateKind)],
    ['lobby', new ScriptedDevice('lobby', turnstileKind)],
  ]);
  const published: CommandResult[] = [];
  const journal = new MemoryJournal();
  const pipeline = new CommandPipeline({
    findDevice: (kind, id) => (devices.get(id)?.kind.name === kind ? devices.get(id) : undefined),
    describeDevice: (id) => devices.get(id)?.kind.name,
    ledger: new MemoryLedger(),
    journal,
    publishResult: (r) => published.push(r),
    policy: { maxAgeMs: 30_000, clockSkewMs: 2000, queueLimit: opts.queueLimit ?? 16 },
    log: { info() {}, warn() {}, debug() {} },
  });
  const lines: LogLine[] = [];
  const log = { info: (obj: object) => void lines.push({ level: 'info', obj: obj as Record<string, unknown> }), warn: (obj: object) => void lines.push({ level: 'warn', obj: obj as Record<string, unknown> }), debug() {} };
  let n = 0;
  const runner = new LinkRunner({ links, submit: (input) => pipeline.submit(input), log, newId: () => `link-test-${++n}` });
  return { runner, pipeline, devices, published, journal, lines, gateB: devices.get('gate-b')!, lobby: devices.get('lobby')! };
}

const unlockedA = (at = 1000): DeviceEvent => ({ device: 'gate-a', kind: 'gate', type: 'unlocked', details: {}, at });

const LOCKDOWN: LinkConfig = {
  name: 'lockdown',
  on: { device: 'gate-a', event: 'unlocked' },
  run: [
    { device: 'gate-b', kind: 'gate', command: 'unlock', args: { duration_ms: 1500 } },
    { device: 'lobby', kind: 'turnstile', command: 'pass', args: { direction: 'in' } },
  ],
};

test('an event runs the link\'s commands in order through the pipeline, with source link and the trigger', async () => {
  const { runner, published, journal, gateB, lobby } = setup([LOCKDOWN]);
  runner.start();
  runner.onEvent(unlockedA(1234));
  await until('two results', () => published.length === 2);
  assert.deepEqual(gateB.calls, [{ command: 'unlock', args: { duration_ms: 1500 } }]);
  assert.deepEqual(lobby.calls, [{ command: 'pass', args: { direction: 'in' } }]);
  const [first, second] = published;
  assert.equal(first.device, 'gate-b');
  assert.equal(second.device, 'lobby', 'the second step waited for the first result');
  for (const [step, r] of published.entries()) {
    assert.equal(r.status, 'ok');
    assert.equal(r.source, 'link');
    assert.match(r.id, /^link-test-\d+$/);
    assert.deepEqual(r.trigger, { link: 'lockdown', step, kind: 'gate', device: 'gate-a', event: 'unlocked', at: 1234 });
  }
  const entries = journal.query({});
  assert.equal(entries.length, 2);
  assert.deepEqual(entries.map((e) => [e.source, e.client_id, e.device, e.status]), [
    ['link', 'link:lockdown:gate-a/unlocked', 'gate-b', 'ok'],
    ['link', 'link:lockdown:gate-a/unlocked', 'lobby', 'ok'],
  ]);
  assert.equal(entries[0].payload, JSON.stringify({ duration_ms: 1500, id: first.id }), 'the journal holds what the link sent');
  await runner.stop();
  assert.deepEqual(runner.stats().lockdown, { triggered: 1, completed: 1, failed: 0, dropped: 0 });
});

test('other events, other devices, and events before start() or after stop() run nothing', async () => {
  const { runner, published, gateB } = setup([LOCKDOWN]);
  runner.onEvent(unlockedA());
  runner.start();
  runner.onEvent({ ...unlockedA(), type: 'locked' });
  runner.onEvent({ ...unlockedA(), device: 'gate-b' });
  await runner.stop();
  runner.onEvent(unlockedA());
  await sleep(20);
  assert.equal(published.length, 0);
  assert.equal(gateB.calls.length, 0);
});

test('the first step in error ends the run: later steps are not submitted', async () => {
  const { runner, published, gateB, lobby, lines } = setup([LOCKDOWN]);
  gateB.availability = 'offline';
  runner.start();
  runner.onEvent(unlockedA());
  await until('one result', () => published.length === 1);
  await runner.stop();
  assert.equal(published.length, 1);
  assert.equal(published[0].code, 'offline');
  assert.equal(published[0].source, 'link');
  assert.equal(lobby.calls.length, 0);
  assert.ok(lines.some((l) => l.obj.code === 'LINK_STEP_FAILED' && l.obj.result_code === 'offline'));
  assert.deepEqual(runner.stats().lockdown, { triggered: 1, completed: 0, failed: 1, dropped: 0 });
});

test('several links on one event all run', async () => {
  const second: LinkConfig = { name: 'also', on: { device: 'gate-a', event: 'unlocked' }, run: [{ device: 'lobby', kind: 'turnstile', command: 'unlock', args: {} }] };
  const { runner, published } = setup([LOCKDOWN, second]);
  runner.start();
  runner.onEvent(unlockedA());
  await until('three results', () => published.length === 3);
  await runner.stop();
  assert.deepEqual(published.map((r) => `${r.trigger?.link}/${r.command}`).sort(), ['also/unlock', 'lockdown/pass', 'lockdown/unlock']);
});

test('a burst of events: one run at a time, the newest trigger waits, the rest are dropped and logged; other commands still get through', async () => {
  const link: LinkConfig = { name: 'burst', on: { device: 'gate-a', event: 'unlocked' }, run: [{ device: 'gate-b', kind: 'gate', command: 'lock', args: {} }] };
  const { runner, pipeline, published, gateB, lines } = setup([link], { queueLimit: 2 });
  const hold = deferred();
  gateB.hold = hold.promise;
  runner.start();
  for (let i = 0; i < 50; i++) runner.onEvent(unlockedA(i));
  await until('the first linked command running', () => gateB.calls.length === 1);
  // The queue limit is 2: with the link holding one place at most, a local command still fits.
  const local: CommandInput = { kind: 'gate', device: 'gate-b', command: 'unlock', payload: Buffer.from('{"id":"guard-1"}'), source: 'local', authorized: true };
  const localResult = pipeline.submit(local);
  hold.release();
  gateB.hold = undefined;
  assert.equal((await localResult).status, 'ok', 'the local command was not crowded out');
  await until('the waiting trigger\'s run', () => published.filter((r) => r.source === 'link').length === 2);
  await runner.stop();
  const linked = published.filter((r) => r.source === 'link');
  assert.ok(linked.every((r) => r.status === 'ok'), JSON.stringify(linked));
  assert.deepEqual(linked.map((r) => r.trigger?.at), [0, 49], 'the first trigger ran, then the newest');
  assert.deepEqual(runner.stats().burst, { triggered: 50, completed: 2, failed: 0, dropped: 48 });
  const warn = lines.find((l) => l.obj.code === 'LINK_TRIGGERS_DROPPED');
  assert.ok(warn);
  assert.equal(warn.obj.dropped, 48);
});

test('stop() waits for the run under way, skips its remaining steps and drops the waiting trigger', async () => {
  const { runner, published, gateB, lobby } = setup([LOCKDOWN]);
  const hold = deferred();
  gateB.hold = hold.promise;
  runner.start();
  runner.onEvent(unlockedA(1));
  runner.onEvent(unlockedA(2));
  await until('the first step running', () => gateB.calls.length === 1);
  let stopped = false;
  const stopping = runner.stop().then(() => (stopped = true));
  await sleep(20);
  assert.equal(stopped, false, 'stop waits for the step under way');
  hold.release();
  await stopping;
  assert.equal(published.length, 1, 'the step under way got its result');
  assert.equal(lobby.calls.length, 0, 'no further step after stop');
  assert.equal(gateB.calls.length, 1, 'the waiting trigger was dropped');
});
