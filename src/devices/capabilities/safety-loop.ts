// A safety loop (an induction loop under a barrier arm, a light curtain): an input that is true
// while something is in the way. As an Interlock it holds a switch-off until the loop is clear,
// announces `obstructed` {waited_ms} once when the wait lasts longer than obstructed_after_ms, and
// `vehicle_passed` {occupied_ms} when the loop clears while `passing` says the way was open.
// Unknown counts as occupied. On start it reads the device, so that a safe state that would lower
// something knows whether it may.
import type { Readings } from '../../driver-api.js';
import type { Interlock } from './pulsed-output.js';
import type { Piece, PieceContext, PieceRuntime } from './piece.js';

export interface SafetyLoopOptions<Parts> {
  input: string;
  /** The state field: true while occupied, null until first read. */
  field: string;
  /** True while the way is open, so that a vehicle leaving the loop has gone through. */
  passing(parts: Parts): boolean;
}

export class SafetyLoop<Parts = never> implements PieceRuntime, Interlock {
  private occupied: boolean | null = null;
  private occupiedSince = 0;
  private waiting: (() => void) | undefined;
  private obstructedTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly ctx: PieceContext,
    private readonly opts: SafetyLoopOptions<Parts>,
    private readonly parts: Parts,
  ) {}

  get clear(): boolean {
    return this.occupied === false;
  }

  whenClear(then: () => void): void {
    if (this.clear) return then();
    this.waiting = then;
    if (this.obstructedTimer !== undefined || this.ctx.lane.stopped) return;
    const since = Date.now();
    this.obstructedTimer = setTimeout(() => {
      this.ctx.log.warn({ input: this.opts.input }, 'obstructed: waiting for the safety loop to clear');
      this.ctx.sink.event('obstructed', { waited_ms: Date.now() - since });
    }, this.ctx.settings.obstructed_after_ms as number);
  }

  cancel(): void {
    this.waiting = undefined;
    clearTimeout(this.obstructedTimer);
    this.obstructedTimer = undefined;
  }

  async applySafeState(): Promise<void> {
    if (this.ctx.inputs) this.observe(await this.ctx.inputs.read());
  }

  observe(readings: Readings): void {
    const reading = readings[this.opts.input];
    if (typeof reading !== 'boolean' || reading === this.occupied) return;
    const previous = this.occupied;
    this.occupied = reading;
    this.ctx.touch();
    if (reading) {
      this.occupiedSince = Date.now();
      return;
    }
    if (previous === true && this.opts.passing(this.parts)) this.ctx.sink.event('vehicle_passed', { occupied_ms: Date.now() - this.occupiedSince });
    const then = this.waiting;
    this.cancel();
    then?.();
  }

  state(): Record<string, unknown> {
    return { [this.opts.field]: this.occupied };
  }

  async stop(): Promise<void> {
    this.cancel();
  }
}

export function safetyLoop<Parts = never>(opts: SafetyLoopOptions<Parts>): Piece<SafetyLoop<Parts>, Parts> {
  return {
    inputs: { required: [opts.input] },
    settings: { obstructed_after_ms: { type: 'int', min: 1000, max: 3_600_000, default: 60_000 } },
    events: {
      obstructed: { doc: 'A switch-off (a barrier closing) has waited longer than obstructed_after_ms for the loop to clear; {waited_ms}. Once per wait.', security: true },
      vehicle_passed: { doc: 'The loop cleared while the way was open: a vehicle went through; {occupied_ms}.' },
    },
    state: { [opts.field]: 'true while something is on the safety loop; null until first read.' },
    create: (ctx, parts) => new SafetyLoop(ctx, opts, parts),
  };
}
