import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { safetyLoop } from '../../../src/devices/capabilities/safety-loop.js';
import { sleep, until } from '../../support/wait.js';
import { pieceContext } from './piece-context.js';

function loop(opts: { passing?: boolean; inputs?: () => Record<string, boolean> } = {}) {
  const t = pieceContext({ obstructed_after_ms: 1000 }, opts.inputs ? { inputs: opts.inputs } : {});
  const parts = { passing: opts.passing ?? true };
  const piece = safetyLoop<{ passing: boolean }>({ input: 'loop', field: 'vehicle_present', passing: (p) => p.passing });
  return { ...t, parts, piece, loop: piece.create(t.ctx, parts) };
}

describe('safety loop', () => {
  it('declares its input, setting, events and state field', () => {
    const { piece } = loop();
    assert.deepEqual(piece.inputs, { required: ['loop'] });
    assert.deepEqual(Object.keys(piece.settings ?? {}), ['obstructed_after_ms']);
    assert.deepEqual(Object.keys(piece.events ?? {}), ['obstructed', 'vehicle_passed']);
    assert.equal(piece.events?.obstructed.security, true);
    assert.deepEqual(Object.keys(piece.state ?? {}), ['vehicle_present']);
  });

  it('unknown counts as occupied; a clear loop runs the action at once', () => {
    const { loop: l } = loop();
    assert.equal(l.clear, false);
    assert.deepEqual(l.state(), { vehicle_present: null });
    let ran = 0;
    l.whenClear(() => ran++);
    assert.equal(ran, 0);
    l.observe({ loop: false });
    assert.equal(ran, 1, 'the first reading of a clear loop runs what waited');
    l.whenClear(() => ran++);
    assert.equal(ran, 2);
  });

  it('holds the action while occupied: obstructed once per wait, then the action when it clears', async () => {
    const { loop: l, eventTypes, events } = loop();
    l.observe({ loop: true });
    let ran = 0;
    l.whenClear(() => ran++);
    l.whenClear(() => ran++); // replaces the first: one action runs
    await until('obstructed', () => eventTypes().includes('obstructed'));
    assert.equal(ran, 0);
    assert.ok((events[0].details!.waited_ms as number) >= 0);
    l.observe({ loop: false });
    assert.equal(ran, 1);
    assert.deepEqual(eventTypes(), ['obstructed', 'vehicle_passed']);
  });

  it('cancel forgets the action and the obstructed timer', async () => {
    const { loop: l, eventTypes } = loop();
    l.observe({ loop: true });
    let ran = 0;
    l.whenClear(() => ran++);
    l.cancel();
    await sleep(1100); // past obstructed_after_ms: a timer left running would have fired
    l.observe({ loop: false });
    assert.equal(ran, 0);
    assert.deepEqual(eventTypes(), ['vehicle_passed']);
  });

  it('vehicle_passed only when the way was open, never for the first reading', () => {
    const t = loop({ passing: false });
    t.loop.observe({ loop: false });
    t.loop.observe({ loop: true });
    t.loop.observe({ loop: false });
    assert.deepEqual(t.eventTypes(), []);
    t.parts.passing = true;
    t.loop.observe({ loop: true });
    t.loop.observe({ loop: false });
    assert.deepEqual(t.eventTypes(), ['vehicle_passed']);
  });

  it('reads the device on start when it can', async () => {
    const { loop: l } = loop({ inputs: () => ({ loop: true }) });
    await l.applySafeState();
    assert.deepEqual(l.state(), { vehicle_present: true });
  });
});
