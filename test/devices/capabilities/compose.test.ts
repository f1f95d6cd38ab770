import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defineKind } from '../../../src/devices/capabilities/compose.js';
import type { Piece, PieceContext, PieceRuntime } from '../../../src/devices/capabilities/piece.js';
import { until } from '../../support/wait.js';
import { harness } from '../behaviour-harness.js';

/** A piece that records its hooks in `log` and shows `fields`. */
function probe(name: string, log: string[], extra: Partial<Piece<PieceRuntime & { name: string }>> = {}): Piece<PieceRuntime & { name: string }> {
  return {
    state: { [name]: `${name} doc` },
    ...extra,
    create: () => ({
      name,
      applySafeState: async () => void log.push(`${name}.safe`),
      observe: () => void log.push(`${name}.observe`),
      state: () => ({ [name]: name }),
      stop: async () => void log.push(`${name}.stop`),
    }),
  };
}

describe('defineKind', () => {
  it('is the union of its pieces, with updated_at documented', () => {
    const log: string[] = [];
    const kind = defineKind({
      name: 'k',
      description: 'a test kind',
      pieces: {
        a: probe('a', log, { outputs: { required: ['o1'] }, inputs: { optional: ['i1'] }, settings: { s1: { type: 'int', min: 0, max: 9, default: 1 } }, safeState: { o1: 'off' }, actions: ['x'] }),
        b: probe('b', log, { outputs: { optional: ['o2'] }, inputs: { required: ['i2'] }, events: { e: { doc: 'e', security: true } }, safeState: { o2: 'off' }, actions: ['x', 'y'] }),
      },
      commands: { go: { doc: 'go', args: {}, run: async ({ a, b }) => ({ names: [a.name, b.name] }) } },
    });
    assert.deepEqual(kind.points, { outputs: { required: ['o1'], optional: ['o2'] }, inputs: { required: ['i2'], optional: ['i1'] } });
    assert.deepEqual(Object.keys(kind.settings), ['s1']);
    assert.deepEqual(kind.events, ['e']);
    assert.deepEqual(kind.actions, ['x', 'y']);
    assert.deepEqual(Object.keys(kind.state), ['a', 'b', 'updated_at']);
    assert.deepEqual(kind.safeState, { o1: 'off', o2: 'off' });
  });

  it('runs hooks in piece order, commands over the running parts, and rejects a command it lacks', async () => {
    const log: string[] = [];
    const kind = defineKind({
      name: 'k',
      description: 'a test kind',
      pieces: { a: probe('a', log), b: probe('b', log) },
      commands: { go: { doc: 'go', args: {}, run: async ({ a, b }) => ({ names: [a.name, b.name] }) } },
    });
    const h = harness(kind);
    await h.behaviour.applySafeState();
    h.behaviour.observe({}, 0);
    assert.deepEqual(await h.behaviour.run('go', {}, new AbortController().signal), { names: ['a', 'b'] });
    await assert.rejects(h.behaviour.run('fly', {}, new AbortController().signal), /k has no command fly/);
    await h.behaviour.stop();
    assert.deepEqual(log, ['a.safe', 'b.safe', 'a.observe', 'b.observe', 'a.stop', 'b.stop']);
  });

  it('orders the state as stateOrder says, after the fields it does not name, updated_at last', () => {
    const log: string[] = [];
    const kind = defineKind({ name: 'k', description: 'd', pieces: { a: probe('a', log), b: probe('b', log), c: probe('c', log) }, stateOrder: ['c', 'a'], commands: {} });
    assert.deepEqual(Object.keys(harness(kind).behaviour.snapshot()), ['b', 'c', 'a', 'updated_at']);
  });

  it('refuses two pieces declaring the same setting, event, state field or output', () => {
    const log: string[] = [];
    const setting = { s: { type: 'int', min: 0, max: 1, default: 0 } } as const;
    assert.throws(
      () => defineKind({ name: 'k', description: 'd', pieces: { a: probe('a', log, { settings: setting }), b: probe('b', log, { settings: setting }) }, commands: {} }),
      /kind k: two pieces declare the setting s/,
    );
    assert.throws(() => defineKind({ name: 'k', description: 'd', pieces: { a: probe('x', log), b: probe('x', log) }, commands: {} }), /state field x/);
  });

  it('joins the pieces\' cross-field checks with its own', () => {
    const log: string[] = [];
    const kind = defineKind({
      name: 'k',
      description: 'd',
      pieces: { a: probe('a', log, { check: () => [{ key: 'a', message: 'bad a' }] }) },
      check: (settings) => (settings.z === 1 ? [{ key: 'z', message: 'bad z' }] : []),
      commands: {},
    });
    assert.deepEqual(kind.check({ z: 1 }), [{ key: 'a', message: 'bad a' }, { key: 'z', message: 'bad z' }]);
  });

  it('refuses two pieces declaring the same event, config section or safe-state output, naming which', () => {
    const log: string[] = [];
    const twice = (extra: Partial<Piece<PieceRuntime & { name: string }>>) => () =>
      defineKind({ name: 'k', description: 'd', pieces: { a: probe('a', log, extra), b: probe('b', log, extra) }, commands: {} });
    assert.throws(twice({ events: { e: { doc: 'e' } } }), /^Error: kind k: two pieces declare the event e$/);
    assert.throws(twice({ sections: { s: { doc: 's', parse: () => ({}) } } }), /^Error: kind k: two pieces declare the config section s$/);
    assert.throws(twice({ safeState: { o: 'off' } }), /^Error: kind k: two pieces declare the output o$/);
  });

  it('has no sections or actions keys when no piece declares any', () => {
    const kind = defineKind({ name: 'k', description: 'd', pieces: { a: probe('a', []) }, commands: {} });
    assert.ok(!('sections' in kind), 'no sections key');
    assert.ok(!('actions' in kind), 'no actions key');
  });

  it("a piece's touch moves updated_at and publishes; its changed publishes and keeps updated_at", async () => {
    let ctx: PieceContext | undefined;
    const kind = defineKind({
      name: 'k',
      description: 'd',
      pieces: { a: { create: (c) => ((ctx = c), {}) } },
      commands: {},
    });
    const h = harness(kind);
    const first = h.behaviour.snapshot().updated_at as number;
    await until('the clock moved on', () => Date.now() > first);
    ctx!.changed();
    assert.equal(h.stateChanges(), 1);
    assert.equal(h.behaviour.snapshot().updated_at, first, 'changed: no news of the hardware');
    ctx!.touch();
    assert.equal(h.stateChanges(), 2);
    assert.ok((h.behaviour.snapshot().updated_at as number) > first, 'touch: the hardware changed');
  });

  it('a stateOrder naming a field no piece has adds nothing', () => {
    const kind = defineKind({ name: 'k', description: 'd', pieces: { a: probe('a', []) }, stateOrder: ['ghost', 'a'], commands: {} });
    assert.deepEqual(Object.keys(harness(kind).behaviour.snapshot()), ['a', 'updated_at']);
  });
});
