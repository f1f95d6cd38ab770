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

  it('a held switch-off never runs on a reading of occupied, even the first one', () => {
    const { loop: l } = loop();
    let ran = 0;
    l.whenClear(() => ran++);
    l.observe({ loop: true });
    assert.equal(ran, 0, 'unknown, then occupied: still held');
    l.observe({ loop: true });
    assert.equal(ran, 0);
    l.observe({ loop: false });
    assert.equal(ran, 1);
  });

  it('a reading without the loop, or not a boolean, changes nothing; a repeated occupied keeps its start', async () => {
    const t = loop();
    t.loop.observe({});
    t.loop.observe({ loop: 1 as unknown as boolean });
    assert.deepEqual(t.loop.state(), { vehicle_present: null });
    assert.equal(t.touches(), 0);
    t.loop.observe({ loop: true });
    const start = Date.now();
    await until('time passes', () => Date.now() - start >= 30);
    t.loop.observe({ loop: true });
    t.loop.observe({ loop: false });
    const occupied = t.events.find((e) => e.type === 'vehicle_passed')!.details!.occupied_ms as number;
    assert.ok(occupied >= 30 && occupied < 60_000, `occupied_ms ${occupied} counts from the first occupied reading`);
    assert.equal(t.touches(), 2);
  });

  it('the first reading of a clear loop is no passage', () => {
    const t = loop();
    t.loop.observe({ loop: false });
    assert.deepEqual(t.eventTypes(), []);
  });

  it('obstructed: logged with the input, its wait measured; a stop ends the wait', async () => {
    const t = loop();
    t.loop.observe({ loop: true });
    t.loop.whenClear(() => {});
    await until('obstructed', () => t.eventTypes().includes('obstructed'));
    const waited = t.events[0].details!.waited_ms as number;
    assert.ok(waited >= 1000 && waited < 60_000, `waited_ms ${waited}`);
    assert.deepEqual(t.logs.map((l) => [l.level, l.msg, l.obj]), [['warn', 'obstructed: waiting for the safety loop to clear', { input: 'loop' }]]);
    const s = loop();
    s.loop.observe({ loop: true });
    let ran = 0;
    s.loop.whenClear(() => ran++);
    await s.loop.stop();
    s.loop.observe({ loop: false });
    assert.equal(ran, 0, 'the stop forgot the held action');
  });
});
