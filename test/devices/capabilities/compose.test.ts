import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defineKind } from '../../../src/devices/capabilities/compose.js';
import type { Piece, PieceRuntime } from '../../../src/devices/capabilities/piece.js';
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
});
