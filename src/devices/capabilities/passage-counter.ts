// Passage counters read from the device (uint16 registers that wrap from 65535 to 0), one per
// direction, turned into `passage` events {direction, count, total}. The first reading only sets
// the counters; a jump too large to be people (a controller reset, a wrong register) resynchronises
// without events.
import type { Readings } from '../../driver-api.js';
import type { Piece, PieceContext, PieceRuntime } from './piece.js';

const COUNTER_MODULO = 65_536;
/** A counter jump larger than this is a controller reset or a wrong register, not people. */
const MAX_PLAUSIBLE_PER_READING = 1000;

export interface PassageCounterOptions {
  /** Direction name -> input point (also the state field), e.g. { in: 'passages_in' }. */
  inputs: Record<string, string>;
}

export class PassageCounter implements PieceRuntime {
  private readonly totals = new Map<string, number | null>();

  constructor(
    private readonly ctx: PieceContext,
    private readonly opts: PassageCounterOptions,
  ) {
    for (const input of Object.values(opts.inputs)) this.totals.set(input, null);
  }

  observe(readings: Readings): void {
    for (const [direction, input] of Object.entries(this.opts.inputs)) this.count(direction, input, readings[input]);
  }

  private count(direction: string, input: string, reading: boolean | number | undefined): void {
    if (typeof reading !== 'number') return;
    const previous = this.totals.get(input);
    if (previous === reading) return;
    this.totals.set(input, reading);
    this.ctx.touch();
    if (previous === null || previous === undefined) return;
    const passages = (reading - previous + COUNTER_MODULO) % COUNTER_MODULO;
    if (passages > MAX_PLAUSIBLE_PER_READING) {
      this.ctx.log.warn({ direction, previous, reading }, 'passage counter jumped; resynchronised without events');
    } else {
      this.ctx.sink.event('passage', { direction, count: passages, total: reading });
    }
  }

  state(): Record<string, unknown> {
    return Object.fromEntries(this.totals);
  }
}

export function passageCounter(opts: PassageCounterOptions): Piece<PassageCounter> {
  const inputs = Object.entries(opts.inputs);
  return {
    inputs: { optional: inputs.map(([, input]) => input) },
    events: { passage: { doc: 'People went through: {direction, count, total}, count since the last reading.' } },
    state: Object.fromEntries(inputs.map(([direction, input]) => [input, `Passages ${direction} as the device counts them (0..65535, wrapping); null until first read.`])),
    create: (ctx) => new PassageCounter(ctx, opts),
  };
}
