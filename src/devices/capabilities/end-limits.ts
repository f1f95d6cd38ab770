// Where something that travels is (a barrier arm, a sliding gate): "open" or "closed" at an end
// limit switch, "moving" between them. Without limit switches configured, `fallback` says (e.g.
// from the output that drives it).
import type { Readings } from '../../driver-api.js';
import type { Piece, PieceContext, PieceRuntime } from './piece.js';

export type Position = 'open' | 'closed' | 'moving' | 'unknown';

export interface EndLimitsOptions<Parts> {
  field: string;
  /** Inputs true at the open and at the closed end. */
  open: string;
  closed: string;
  fallback(parts: Parts): Position;
}

export class EndLimits<Parts = never> implements PieceRuntime {
  private atOpen: boolean | undefined;
  private atClosed: boolean | undefined;

  constructor(
    private readonly ctx: PieceContext,
    private readonly opts: EndLimitsOptions<Parts>,
    private readonly parts: Parts,
  ) {}

  get position(): Position {
    if (this.atOpen === undefined && this.atClosed === undefined) return this.opts.fallback(this.parts);
    if (this.atOpen && this.atClosed) return 'unknown'; // both ends at once: a wiring fault
    return this.atOpen ? 'open' : this.atClosed ? 'closed' : 'moving';
  }

  observe(readings: Readings): void {
    const before = this.position;
    const open = readings[this.opts.open];
    const closed = readings[this.opts.closed];
    if (typeof open === 'boolean') this.atOpen = open;
    if (typeof closed === 'boolean') this.atClosed = closed;
    if (this.position !== before) this.ctx.touch();
  }

  state(): Record<string, unknown> {
    return { [this.opts.field]: this.position };
  }
}

export function endLimits<Parts = never>(opts: EndLimitsOptions<Parts>): Piece<EndLimits<Parts>, Parts> {
  return {
    inputs: { optional: [opts.open, opts.closed] },
    state: {
      [opts.field]: `"open" or "closed" at an end limit switch, "moving" between them ("unknown" if both are on); without limit switches, as last driven.`,
    },
    create: (ctx, parts) => new EndLimits(ctx, opts, parts),
  };
}
