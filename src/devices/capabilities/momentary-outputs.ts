// Outputs energised for a fixed time per command (a turnstile's pass_in / pass_out: one passage
// each), taking the device's output lane for the whole pulse. The pulse ends even when the command
// is cancelled or its first end-write fails; every start rests them off.
import { setTimeout as sleep } from 'node:timers/promises';
import type { FieldSpec } from '../../config/fields.js';
import type { Piece, PieceContext, PieceRuntime } from './piece.js';

export interface MomentaryOutputsOptions {
  outputs: readonly string[];
  /** The setting of the pulse length. */
  setting: { name: string; spec: FieldSpec & { type: 'int' } };
}

export class MomentaryOutputs implements PieceRuntime {
  constructor(
    private readonly ctx: PieceContext,
    private readonly opts: MomentaryOutputsOptions,
  ) {}

  /** Rests every output off whatever on_start says: a pulse cut short by a crash must not linger. */
  async applySafeState(): Promise<void> {
    for (const output of this.opts.outputs) await this.ctx.lane.run(() => this.ctx.lane.write(output, false));
  }

  /** One pulse of `output`; `args` go with the write (for protocols that carry them). */
  pulse(output: string, signal: AbortSignal, args?: Record<string, string | number>): Promise<void> {
    const { lane, settings, log } = this.ctx;
    return lane.run(async () => {
      try {
        // Inside the try: a write whose reply was lost may still have energised the output.
        await lane.write(output, true, signal, args);
        await sleep(settings[this.opts.setting.name] as number);
      } finally {
        await lane.write(output, false).catch(async (err) => {
          log.warn({ err, output }, 'ending the pulse failed; retrying');
          await lane.write(output, false);
        });
      }
    });
  }

  /** A pulse under way finishes on its own (its end is in a finally). */
  async stop(): Promise<void> {
    await this.ctx.lane.settle();
  }
}

export function momentaryOutputs(opts: MomentaryOutputsOptions): Piece<MomentaryOutputs> {
  return {
    outputs: { required: opts.outputs },
    settings: { [opts.setting.name]: opts.setting.spec },
    safeState: Object.fromEntries(opts.outputs.map((o) => [o, 'off at every start, whatever on_start says; energised only for one pulse'])),
    create: (ctx) => new MomentaryOutputs(ctx, opts),
  };
}
