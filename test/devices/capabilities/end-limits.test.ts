import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { endLimits, type Position } from '../../../src/devices/capabilities/end-limits.js';
import { pieceContext } from './piece-context.js';

function arm(fallback: Position = 'closed') {
  const t = pieceContext();
  const piece = endLimits<{ driven: Position }>({ field: 'position', open: 'up', closed: 'down', fallback: ({ driven }) => driven });
  const parts = { driven: fallback };
  return { ...t, parts, limits: piece.create(t.ctx, parts), piece };
}

describe('end limits', () => {
  it('declares its two optional inputs and its state field', () => {
    const { piece } = arm();
    assert.deepEqual(piece.inputs, { optional: ['up', 'down'] });
    assert.deepEqual(Object.keys(piece.state ?? {}), ['position']);
  });

  it('open, closed, moving between them; both at once is a fault, unknown', () => {
    const { limits } = arm();
    const at = (up: boolean, down: boolean) => {
      limits.observe({ up, down });
      return limits.state().position;
    };
    assert.equal(at(false, true), 'closed');
    assert.equal(at(false, false), 'moving');
    assert.equal(at(true, false), 'open');
    assert.equal(at(true, true), 'unknown');
  });

  it('without limit switches, the fallback says; a change touches the state once', () => {
    const t = arm('open');
    assert.equal(t.limits.state().position, 'open');
    t.parts.driven = 'closed';
    assert.equal(t.limits.state().position, 'closed');
    t.limits.observe({});
    assert.equal(t.touches(), 0, 'no limit readings, nothing of its own changed');
    t.limits.observe({ up: false, down: true });
    t.limits.observe({ up: false, down: true });
    assert.equal(t.touches(), 0, 'closed by the fallback and closed by the switch: no change');
    t.limits.observe({ up: false, down: false });
    assert.equal(t.touches(), 1);
  });

  it('one switch wired is enough to stop asking the fallback', () => {
    const { limits } = arm('open');
    limits.observe({ down: true });
    assert.equal(limits.state().position, 'closed', 'the closed switch says, not the fallback (open)');
    const other = arm('closed');
    other.limits.observe({ up: true });
    assert.equal(other.limits.state().position, 'open', 'the open switch says, not the fallback (closed)');
  });

  it('a reading that lacks a switch, or is not a boolean, leaves what that switch last said', () => {
    const { limits } = arm();
    limits.observe({ up: true, down: false });
    limits.observe({ down: false });
    assert.equal(limits.state().position, 'open', 'no "up" in this reading: still at the open end');
    limits.observe({ up: 1 as unknown as boolean, down: false });
    assert.equal(limits.state().position, 'open', 'a number is not a switch state');
    limits.observe({ up: false });
    limits.observe({ up: false, down: 'yes' as unknown as boolean });
    assert.equal(limits.state().position, 'moving');
  });
});
