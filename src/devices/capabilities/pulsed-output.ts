// A switched output with a safe state on start, pulses that end by themselves (a gate's unlock, a
// barrier's open), and a readback model. A pulse asked for while one runs extends it, never
// shortens it, and is measured from the moment the output was written. The end of a pulse runs
// until the output is off, whatever fails meanwhile; an optional interlock (a barrier's safety
// loop) holds every switch-off until it is clear.
import { DeviceError, type Readings } from '../../driver-api.js';
import type { FieldSpecs, FieldValues } from '../../config/fields.js';
import type { Piece, PieceContext, PieceRuntime } from './piece.js';

const RETRY_MIN_MS = 250;
const RETRY_MAX_MS = 10_000;

export type OutputValue = 'on' | 'off' | 'unknown';

/** What must be clear before an output may switch off. */
export interface Interlock {
  readonly clear: boolean;
  /** Runs `then` once clear (at once when clear now); replaces an action already waiting. */
  whenClear(then: () => void): void;
  /** Forgets the waiting action. */
  cancel(): void;
}

interface Words {
  off: string;
  on: string;
}

export interface PulsedOutputOptions<Parts> {
  output: string;
  /** The words of the `on_start` setting for off and on (`leave` is always a choice; off is the default), and what they mean. */
  onStart: Words & { doc: string };
  /** The state field showing the output, and its words (`lock`: locked / unlocked); absent: not in the state. */
  field?: Words & { name: string; doc: string };
  /** Events when the output goes off and on; a first known value of off is quiet. */
  events?: Record<'off' | 'on', { name: string; doc: string }>;
  /** A readback that differs from what was written is announced as an event too (else it only corrects the state). */
  announceReadback?: boolean;
  /** Pulses: the settings of the default length and of the longest a command may ask for, and the state field of the end. */
  pulse?: { setting: string; maxSetting: string; min: number; max: number; default: number; maxDefault: number; until?: { name: string; doc: string } };
  interlock?(parts: Parts): Interlock;
  /** How the log names a switch-off: a gate's is a `relock` (operators search the log for it). */
  offAction?: string;
}

export class PulsedOutput<Parts = never> implements PieceRuntime {
  private current: OutputValue = 'unknown';
  private offSince = 0;
  private pulseUntil: number | null = null;
  private relockTimer: NodeJS.Timeout | undefined;
  private retryMs = RETRY_MIN_MS;

  constructor(
    private readonly ctx: PieceContext,
    private readonly opts: PulsedOutputOptions<Parts>,
    private readonly parts: Parts,
  ) {}

  /** What the output was last written or read back as. */
  get value(): OutputValue {
    return this.current;
  }

  /** How long the output has been known off; -1 when it is not. */
  offForMs(): number {
    return this.current === 'off' ? Date.now() - this.offSince : -1;
  }

  async applySafeState(): Promise<void> {
    const target = this.ctx.settings.on_start;
    if (target === 'leave') return;
    if (target === this.opts.onStart.on) await this.setOutput(true, 'safe state on start', {});
    else await this.switchOff('safe state on start');
  }

  /** Switches on for `durationMs` (the pulse setting when absent); resolves with the pulse's end, epoch ms. */
  async pulse(durationMs: number | undefined, signal: AbortSignal): Promise<number> {
    const ms = durationMs ?? (this.ctx.settings[this.opts.pulse!.setting] as number);
    let until = 0;
    try {
      await this.setOutput(true, 'pulse command', {
        signal,
        args: { duration_ms: ms },
        afterWrite: () => {
          until = Math.max(this.pulseUntil ?? 0, Date.now() + ms);
          this.pulseUntil = until;
          this.interlock?.cancel();
        },
      });
    } catch (err) {
      // The request may have reached the device though no reply came back (a late or lost reply,
      // a link that dropped mid-request): switch off now rather than leave it on.
      const mayHaveSwitched = !(err instanceof DeviceError && err.notApplied);
      if (mayHaveSwitched && this.pulseUntil === null) this.scheduleRetry();
      throw err;
    }
    this.armRelock();
    this.ctx.changed();
    return until;
  }

  /** Switches off now, ending any pulse; keeps trying in the background when the write fails. `deferred`: the interlock holds it. */
  async secure(): Promise<{ deferred: boolean }> {
    this.pulseUntil = null;
    this.clearRelock();
    try {
      return { deferred: (await this.switchOff('off command')) === 'deferred' };
    } catch (err) {
      this.scheduleRetry();
      throw err;
    }
  }

  /** Switches on or off, no pulse; a command's write takes its signal. */
  set(on: boolean, signal?: AbortSignal): Promise<void> {
    return this.setOutput(on, on ? 'on command' : 'off command', { signal });
  }

  observe(readings: Readings, readStartedAt: number): void {
    const reading = readings[this.opts.output];
    if (typeof reading !== 'boolean' || !this.ctx.lane.fresh(readStartedAt)) return;
    const hardware: OutputValue = reading ? 'on' : 'off';
    if (hardware !== this.current && this.current !== 'unknown') {
      this.ctx.log.warn({ output: this.opts.output, expected: this.current, hardware }, 'output changed outside gatehouse');
    }
    if (hardware === 'off' && this.pulseUntil !== null) {
      this.pulseUntil = null;
      this.clearRelock();
    }
    this.setValue(hardware, this.opts.announceReadback ?? false);
  }

  async stop(): Promise<void> {
    // Let a write already under way finish first: it may be a switch-on that nothing would end.
    await this.ctx.lane.settle();
    const pulsing = this.pulseUntil !== null || this.relockTimer !== undefined;
    const notKnownOff = this.ctx.settings.on_start === this.opts.onStart.off && this.current !== 'off';
    this.clearRelock();
    if (!pulsing && !notKnownOff) return;
    this.pulseUntil = null;
    if (this.blocked()) {
      this.ctx.log.warn({ output: this.opts.output }, 'left on at the stop: the interlock is not clear');
      return;
    }
    await this.setOutput(false, 'gateway stopping', {}).catch((err) => this.ctx.log.error({ err, output: this.opts.output }, `could not ${this.opts.offAction ?? 'switch off'} while stopping`));
  }

  private get interlock(): Interlock | undefined {
    return this.opts.interlock?.(this.parts);
  }

  private blocked(): boolean {
    const interlock = this.interlock;
    return interlock !== undefined && !interlock.clear && this.current !== 'off';
  }

  private armRelock(): void {
    this.clearRelock();
    if (this.pulseUntil === null || this.ctx.lane.stopped) return;
    this.relockTimer = setTimeout(() => void this.relock(), Math.max(0, this.pulseUntil - Date.now()));
  }

  private clearRelock(): void {
    clearTimeout(this.relockTimer);
    this.relockTimer = undefined;
  }

  /** The end of a pulse. Runs until the output is off, whatever else fails meanwhile. */
  private async relock(): Promise<void> {
    this.relockTimer = undefined;
    if (this.pulseUntil !== null && this.pulseUntil > Date.now()) return this.armRelock();
    this.pulseUntil = null;
    try {
      await this.switchOff('end of pulse', () => this.pulseUntil === null);
      this.retryMs = RETRY_MIN_MS;
    } catch (err) {
      this.ctx.log.error({ err, output: this.opts.output, retry_ms: this.retryMs }, `${this.opts.offAction ?? 'switch off'} failed; retrying`);
      this.scheduleRetry();
    }
  }

  private scheduleRetry(): void {
    if (this.ctx.lane.stopped) return;
    this.clearRelock();
    this.relockTimer = setTimeout(() => void this.relock(), this.retryMs);
    this.retryMs = Math.min(this.retryMs * 2, RETRY_MAX_MS);
  }

  /**
   * Off now, or once the interlock is clear. `stillWanted` is asked when the write's turn comes, so
   * a relock queued behind a fresh pulse is dropped.
   */
  private switchOff(reason: string, stillWanted?: () => boolean): Promise<'written' | 'deferred' | 'dropped'> {
    return this.ctx.lane.run(async () => {
      if (stillWanted && !stillWanted()) return 'dropped';
      if (this.blocked()) {
        if (!this.ctx.lane.stopped) this.interlock!.whenClear(() => void this.relock());
        return 'deferred';
      }
      await this.writeNow(false, reason);
      return 'written';
    });
  }

  /** Writes of one device never overtake each other (the lane). */
  private setOutput(on: boolean, reason: string, opts: { afterWrite?: () => void; signal?: AbortSignal; args?: Record<string, string | number> }): Promise<void> {
    return this.ctx.lane.run(() => this.writeNow(on, reason, opts.signal, opts.args, opts.afterWrite));
  }

  private async writeNow(on: boolean, reason: string, signal?: AbortSignal, args?: Record<string, string | number>, afterWrite?: () => void): Promise<void> {
    await this.ctx.lane.write(this.opts.output, on, signal, args);
    this.ctx.log.info({ output: this.opts.output, on, reason }, `${this.ctx.kind} ${this.opts.field?.[on ? 'on' : 'off'] ?? `${this.opts.output} ${on ? 'on' : 'off'}`}`);
    afterWrite?.();
    this.setValue(on ? 'on' : 'off', true);
  }

  private setValue(next: OutputValue, announce: boolean): void {
    if (next === this.current) return;
    const previous = this.current;
    this.current = next;
    if (next === 'off') {
      this.offSince = Date.now();
      this.interlock?.cancel();
    }
    this.ctx.touch();
    const events = this.opts.events;
    if (announce && events && next !== 'unknown' && (previous !== 'unknown' || next === 'on')) this.ctx.sink.event(events[next].name);
  }

  state(): Record<string, unknown> {
    const { field, pulse } = this.opts;
    return {
      ...(field ? { [field.name]: this.current === 'unknown' ? 'unknown' : field[this.current] } : {}),
      ...(pulse?.until ? { [pulse.until.name]: this.pulseUntil } : {}),
    };
  }
}

export type PulsedOutputPiece<Parts> = Piece<PulsedOutput<Parts>, Parts> & {
  /** The `duration_ms` argument of a pulse command, up to the device's longest pulse setting. */
  pulseArgs(settings: FieldValues): FieldSpecs;
};

export function pulsedOutput<Parts = never>(opts: PulsedOutputOptions<Parts>): PulsedOutputPiece<Parts> {
  const { output, onStart, field, events, pulse } = opts;
  const settings: FieldSpecs = { on_start: { type: 'enum', values: [onStart.off, onStart.on, 'leave'], default: onStart.off } };
  if (pulse) {
    settings[pulse.setting] = { type: 'int', min: pulse.min, max: pulse.max, default: pulse.default };
    settings[pulse.maxSetting] = { type: 'int', min: pulse.min, max: pulse.max, default: pulse.maxDefault };
  }
  return {
    outputs: { required: [output] },
    settings,
    check: (values) =>
      pulse && (values[pulse.setting] as number) > (values[pulse.maxSetting] as number)
        ? [{ key: pulse.setting, message: `must not exceed ${pulse.maxSetting} (${values[pulse.maxSetting]})` }]
        : [],
    events: events ? { [events.on.name]: { doc: events.on.doc }, [events.off.name]: { doc: events.off.doc } } : {},
    state: {
      ...(field ? { [field.name]: field.doc } : {}),
      ...(pulse?.until ? { [pulse.until.name]: pulse.until.doc } : {}),
    },
    safeState: { [output]: onStart.doc },
    pulseArgs: (values) => ({ duration_ms: { type: 'int', min: pulse!.min, max: values[pulse!.maxSetting] as number } }),
    create: (ctx, parts) => new PulsedOutput(ctx, opts, parts),
  };
}
