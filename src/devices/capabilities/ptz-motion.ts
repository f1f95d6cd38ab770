// Pan/tilt/zoom moves through the driver's actions, ended by a timer the way a gate's pulse ends:
// `move` starts a continuous move and stops it after duration_ms; `halt` and `goto` end a move at
// once. A Stop that fails is retried with backoff a few times; the camera's own move timeout
// (sent with every move) is the last resort. Moves of one device never overtake each other.
import { DeviceError } from '../../driver-api.js';
import type { FieldValues } from '../../config/fields.js';
import { OutputMutex } from '../output-mutex.js';
import { actionsOf } from './action-port.js';
import type { Piece, PieceContext, PieceRuntime } from './piece.js';

const STOP_RETRY_MIN_MS = 250;
const STOP_RETRY_MAX_MS = 10_000;
const STOP_ATTEMPTS = 5;

interface Preset {
  token: string;
  name: string;
}

export class PtzMotion implements PieceRuntime {
  private movingUntil: number | null = null;
  private stopTimer: NodeJS.Timeout | undefined;
  /** Bumped by every new move and every stop: a timer of an older move ends nothing. */
  private moveId = 0;
  private preset: Preset | null = null;
  private readonly lock = new OutputMutex();

  constructor(private readonly ctx: PieceContext) {}

  /** `args`: pan, tilt, zoom (absent: still) and duration_ms (absent: ptz_ms, at most max_ptz_ms). */
  move(args: FieldValues, signal: AbortSignal): Promise<Record<string, unknown>> {
    const settings = this.ctx.settings as { ptz_ms: number; max_ptz_ms: number };
    const durationMs = (args.duration_ms as number | undefined) ?? Math.min(settings.ptz_ms, settings.max_ptz_ms);
    const move = { pan: (args.pan as number | undefined) ?? 0, tilt: (args.tilt as number | undefined) ?? 0, zoom: (args.zoom as number | undefined) ?? 0 };
    return this.lock.run(async () => {
      if (this.ctx.lane.stopped) throw new DeviceError('offline', `gatehouse is stopping; the ${this.ctx.kind} is not moved`, { notApplied: true });
      if (signal.aborted) throw new DeviceError('timeout', 'the command timed out before the move could start; nothing was sent', { notApplied: true });
      // A new move replaces the one under way; its own timer will stop it.
      this.clearStopTimer();
      try {
        await actionsOf(this.ctx).perform('ptz', { ...move, duration_ms: durationMs }, signal);
      } catch (err) {
        // The move may have reached the camera though no reply came back: stop it anyway.
        if (!(err instanceof DeviceError && err.notApplied)) {
          this.setMoving(Date.now());
          this.armStop(0);
        }
        throw err;
      }
      const until = Date.now() + durationMs;
      this.setMoving(until);
      this.armStop(durationMs);
      return { ...move, duration_ms: durationMs, moving_until: until };
    });
  }

  halt(signal: AbortSignal): Promise<Record<string, unknown>> {
    return this.lock.run(async () => {
      try {
        await actionsOf(this.ctx).perform('stop', {}, signal);
      } catch (err) {
        // The command fails, but a move under way must still end: try again soon rather than at its end.
        if (this.movingUntil !== null) this.armStop(STOP_RETRY_MIN_MS);
        throw err;
      }
      this.clearStopTimer();
      this.setMoving(null);
      return {};
    });
  }

  goto(wanted: string, signal: AbortSignal): Promise<Record<string, unknown>> {
    return this.lock.run(async () => {
      // A move's stop timer stays armed until the preset is taken: a refused preset must not leave the camera turning.
      const { data = {} } = await actionsOf(this.ctx).perform('preset', { preset: wanted }, signal);
      // GotoPreset supersedes a continuous move (ONVIF PTZ service: a new move command replaces the current one).
      this.clearStopTimer();
      this.preset = (data.preset as Preset | undefined) ?? { token: wanted, name: wanted };
      this.setMoving(null);
      this.ctx.touch();
      return data;
    });
  }

  private armStop(delayMs: number): void {
    this.clearStopTimer();
    if (this.ctx.lane.stopped) return;
    const id = this.moveId;
    this.stopTimer = setTimeout(() => void this.endMove(id, 1), delayMs);
  }

  private clearStopTimer(): void {
    clearTimeout(this.stopTimer);
    this.stopTimer = undefined;
    this.moveId++;
  }

  /** The end of move `id`: Stop, retried with backoff a few times. */
  private async endMove(id: number, attempt: number): Promise<void> {
    await this.lock.run(async () => {
      if (id !== this.moveId) return; // a newer move, a stop or a preset came first
      this.stopTimer = undefined;
      try {
        await actionsOf(this.ctx).perform('stop', {});
        this.setMoving(null);
      } catch (err) {
        if (attempt >= STOP_ATTEMPTS || this.ctx.lane.stopped) {
          this.ctx.log.error({ err, attempts: attempt }, 'camera did not take Stop; its move timeout will end the move');
          this.setMoving(null);
          return;
        }
        const retryMs = Math.min(STOP_RETRY_MIN_MS * 2 ** (attempt - 1), STOP_RETRY_MAX_MS);
        this.ctx.log.warn({ err, retry_ms: retryMs }, 'camera Stop failed; retrying');
        this.stopTimer = setTimeout(() => void this.endMove(id, attempt + 1), retryMs);
      }
    });
  }

  private setMoving(until: number | null): void {
    if (until === this.movingUntil) return;
    this.movingUntil = until;
    this.ctx.touch();
  }

  state(): Record<string, unknown> {
    return { moving: this.movingUntil !== null, moving_until: this.movingUntil, preset: this.preset };
  }

  /** After any move still in progress: never leave a camera turning because the gateway went away. */
  async stop(): Promise<void> {
    this.clearStopTimer();
    await this.lock.run(async () => {
      if (this.movingUntil === null) return;
      await actionsOf(this.ctx)
        .perform('stop', {})
        .catch((err: unknown) => this.ctx.log.error({ err }, 'could not stop the camera while stopping'));
      this.setMoving(null);
    });
  }
}

export function ptzMotion(): Piece<PtzMotion> {
  return {
    actions: ['ptz', 'stop', 'preset'],
    settings: {
      /** How long a `ptz` without duration_ms moves. */
      ptz_ms: { type: 'int', min: 50, max: 600_000, default: 500 },
      /** The longest move a `ptz` may ask for. */
      max_ptz_ms: { type: 'int', min: 50, max: 600_000, default: 10_000 },
    },
    state: {
      moving: 'true while a move runs.',
      moving_until: 'When the move under way is stopped, epoch ms; null when still.',
      preset: 'The last preset gone to, {token, name}; null before any.',
    },
    create: (ctx) => new PtzMotion(ctx),
  };
}
