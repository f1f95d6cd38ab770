import { setTimeout as sleep } from 'node:timers/promises';
import { performance } from 'node:perf_hooks';
import { DeviceError, type Readings } from '../../driver-api.js';
import type { FieldValues } from '../fields.js';
import { OutputMutex } from '../output-mutex.js';
import type { Behaviour, BehaviourContext, KindDefinition, SafeState } from './types.js';

// A turnstile: `pass_in` / `pass_out` outputs pulsed once per authorised passage, a `free` output
// for free-passage mode, and optional passage counters (`passages_in`, `passages_out`).
// State {mode, passages_in, passages_out, updated_at}; events unlocked, locked, passage.

type Mode = 'locked' | 'free' | 'unknown';
type Direction = 'in' | 'out';

const COUNTER_MODULO = 65_536;
/** A counter jump larger than this is a controller reset or a wrong register, not people. */
const MAX_PLAUSIBLE_PASSAGES_PER_POLL = 1000;

class TurnstileBehaviour implements Behaviour {
  private mode: Mode = 'unknown';
  private counters: Record<Direction, number | null> = { in: null, out: null };
  private updatedAt = Date.now();
  private lastWriteEndedAt = -Infinity;
  private readonly outputs = new OutputMutex();
  private stopped = false;

  constructor(private readonly ctx: BehaviourContext) {}

  private get settings() {
    return this.ctx.settings as { on_start: SafeState; pulse_ms: number };
  }

  async applySafeState(): Promise<void> {
    // Passage outputs rest off whatever on_start says: a pulse cut short by a crash must not linger.
    await this.write('pass_in', false);
    await this.write('pass_out', false);
    if (this.settings.on_start !== 'leave') await this.setMode(this.settings.on_start === 'unlock' ? 'free' : 'locked');
  }

  async run(command: string, args: FieldValues, signal: AbortSignal): Promise<Record<string, unknown>> {
    switch (command) {
      case 'pass':
        return this.pass(args.direction as Direction, signal);
      case 'unlock':
        await this.setMode('free', signal);
        return {};
      case 'lock':
        await this.setMode('locked', signal);
        return {};
      default:
        throw new Error(`turnstile has no command ${command}`);
    }
  }

  private async pass(direction: Direction, signal: AbortSignal): Promise<Record<string, unknown>> {
    const output = direction === 'in' ? 'pass_in' : 'pass_out';
    return this.outputs.run(async () => {
      try {
        // Inside the try: a write whose reply was lost may still have energised the output.
        await this.rawWrite(output, true, signal, { direction });
        await sleep(this.settings.pulse_ms);
      } finally {
        // The pulse ends even when the command was cancelled; retry once before giving up loudly.
        await this.rawWrite(output, false).catch(async (err) => {
          this.ctx.log.warn({ err, output }, 'ending passage pulse failed; retrying');
          await this.rawWrite(output, false);
        });
      }
      return { direction };
    });
  }

  private async setMode(next: 'locked' | 'free', signal?: AbortSignal): Promise<void> {
    await this.write('free', next === 'free', signal);
    if (next === this.mode) return;
    const previous = this.mode;
    this.mode = next;
    this.touch();
    if (previous !== 'unknown' || next === 'free') this.ctx.sink.event(next === 'free' ? 'unlocked' : 'locked');
    this.ctx.sink.stateChanged();
  }

  private write(output: string, on: boolean, signal?: AbortSignal): Promise<void> {
    return this.outputs.run(() => this.rawWrite(output, on, signal));
  }

  /** A command's write takes its signal (withdrawn if the command timed out first); a pulse's end takes none. */
  private async rawWrite(output: string, on: boolean, signal?: AbortSignal, args?: Record<string, string | number>): Promise<void> {
    if (on && this.stopped) throw new DeviceError('offline', 'gatehouse is stopping; the turnstile is not actuated', { notApplied: true });
    if (signal?.aborted) throw new DeviceError('timeout', 'the command timed out before its write could start; nothing was written', { notApplied: true });
    try {
      await this.ctx.outputs.write(output, on, signal, args);
    } finally {
      this.lastWriteEndedAt = performance.now();
    }
  }

  observe(readings: Readings, readStartedAt: number): void {
    if (typeof readings.free === 'boolean' && readStartedAt > this.lastWriteEndedAt && !this.outputs.busy) {
      const hardware: Mode = readings.free ? 'free' : 'locked';
      if (hardware !== this.mode) {
        if (this.mode !== 'unknown') this.ctx.log.warn({ expected: this.mode, hardware }, 'free-passage output changed outside gatehouse');
        this.mode = hardware;
        this.touch();
        this.ctx.sink.stateChanged();
      }
    }
    this.count('in', readings.passages_in);
    this.count('out', readings.passages_out);
  }

  private count(direction: Direction, reading: boolean | number | undefined): void {
    if (typeof reading !== 'number') return;
    const previous = this.counters[direction];
    if (previous === reading) return;
    this.counters[direction] = reading;
    this.touch();
    if (previous !== null) {
      const passages = (reading - previous + COUNTER_MODULO) % COUNTER_MODULO;
      if (passages > MAX_PLAUSIBLE_PASSAGES_PER_POLL) {
        this.ctx.log.warn({ direction, previous, reading }, 'passage counter jumped; resynchronised without events');
      } else {
        this.ctx.sink.event('passage', { direction, count: passages, total: reading });
      }
    }
    this.ctx.sink.stateChanged();
  }

  private touch(): void {
    this.updatedAt = Date.now();
  }

  snapshot(): Record<string, unknown> {
    return {
      mode: this.mode,
      passages_in: this.counters.in,
      passages_out: this.counters.out,
      updated_at: this.updatedAt,
    };
  }

  async stop(): Promise<void> {
    this.stopped = true;
    // An in-flight pass pulse finishes on its own (its finally turns the output off).
    await this.outputs.run(async () => undefined);
    // A fail-secure turnstile is not left in free passage because the gateway went away.
    if (this.settings.on_start === 'lock' && this.mode !== 'locked') {
      await this.setMode('locked').catch((err) => this.ctx.log.error({ err }, 'could not lock while stopping'));
    }
  }
}

export const turnstileKind: KindDefinition = {
  name: 'turnstile',
  points: {
    outputs: { required: ['pass_in', 'pass_out', 'free'], optional: [] },
    inputs: { required: [], optional: ['passages_in', 'passages_out'] },
  },
  settings: {
    on_start: { type: 'enum', values: ['lock', 'unlock', 'leave'], default: 'lock' },
    pulse_ms: { type: 'int', min: 50, max: 10_000, default: 500 },
  },
  commands: {
    pass: { args: { direction: { type: 'enum', values: ['in', 'out'] } }, required: ['direction'] },
    unlock: { args: {} },
    lock: { args: {} },
  },
  events: ['unlocked', 'locked', 'passage'],
  createBehaviour: (ctx) => new TurnstileBehaviour(ctx),
};
