import { DeviceError, type Readings } from '../../driver-api.js';
import type { FieldValues } from '../fields.js';
import { OutputMutex } from '../output-mutex.js';
import type { ActionPort, Behaviour, BehaviourContext, KindDefinition } from './types.js';

// A camera: no points, actions through its driver. `snapshot` hands the image to the sink (the
// gateway publishes it); `ptz` starts a continuous move and a timer stops it after duration_ms,
// the way a gate's pulse ends; `stop` and `preset` end a move at once. State: what the camera is
// (model, firmware, profile, stream and snapshot URIs without credentials), whether it moves,
// the last preset and the last snapshot time.

const STOP_RETRY_MIN_MS = 250;
const STOP_RETRY_MAX_MS = 10_000;
/** The camera's own move timeout (sent with every move) ends a move our Stop never reached. */
const STOP_ATTEMPTS = 5;
/** A clock offset that moved less than this since the state last said is not news. */
const CLOCK_OFFSET_NEWS_MS = 2000;

type Info = Record<string, unknown>;

class CameraBehaviour implements Behaviour {
  private info: Info = {};
  private session: number | undefined;
  private clockOffsetMs: number | null = null;
  private movingUntil: number | null = null;
  private stopTimer: NodeJS.Timeout | undefined;
  /** Bumped by every new move and every stop: a timer of an older move ends nothing. */
  private moveId = 0;
  private preset: { token: string; name: string } | null = null;
  private lastSnapshotAt: number | null = null;
  private updatedAt = Date.now();
  private stopped = false;
  /** PTZ requests of one camera never overtake each other. */
  private readonly ptzLock = new OutputMutex();

  constructor(private readonly ctx: BehaviourContext) {}

  private get actions(): ActionPort {
    if (this.ctx.actions === undefined) throw new DeviceError('device_error', `camera ${this.ctx.deviceId} has no driver actions`, { notApplied: true });
    return this.ctx.actions;
  }

  private get settings() {
    return this.ctx.settings as { ptz_ms: number; max_ptz_ms: number };
  }

  /** Nothing to drive: a camera is ready once it has said what it is. */
  async applySafeState(): Promise<void> {
    await this.refreshInfo();
  }

  observe(readings: Readings): void {
    if (typeof readings.session === 'number' && readings.session !== this.session) {
      // The camera was set up afresh (after an outage, or a reboot): its facts may have changed.
      this.refreshInfo().catch((err: unknown) => this.ctx.log.warn({ err }, 'camera facts not refreshed'));
    }
    const offset = readings.clock_offset_ms;
    if (typeof offset === 'number' && (this.clockOffsetMs === null || Math.abs(offset - this.clockOffsetMs) >= CLOCK_OFFSET_NEWS_MS)) {
      this.clockOffsetMs = offset;
      this.touch();
    }
  }

  private async refreshInfo(): Promise<void> {
    const { data = {} } = await this.actions.perform('info', {});
    const { session, clock_offset_ms: offset, ...facts } = data;
    this.session = typeof session === 'number' ? session : undefined;
    if (typeof offset === 'number') this.clockOffsetMs = offset;
    if (JSON.stringify(facts) !== JSON.stringify(this.info)) {
      this.info = facts;
      this.touch();
    }
  }

  async run(command: string, args: FieldValues, signal: AbortSignal): Promise<Record<string, unknown>> {
    switch (command) {
      case 'snapshot':
        return this.takeSnapshot(signal);
      case 'ptz':
        return this.ptz(args, signal);
      case 'stop':
        return this.stopNow(signal);
      case 'preset':
        return this.gotoPreset(args.preset as string, signal);
      default:
        throw new Error(`camera has no command ${command}`);
    }
  }

  private async takeSnapshot(signal: AbortSignal): Promise<Record<string, unknown>> {
    const { data = {}, image } = await this.actions.perform('snapshot', {}, signal);
    if (image === undefined) throw new DeviceError('device_error', 'the driver returned no image');
    this.ctx.sink.image?.(image.bytes, { contentType: image.contentType, at: image.at });
    this.lastSnapshotAt = image.at;
    this.touch();
    return data;
  }

  private ptz(args: FieldValues, signal: AbortSignal): Promise<Record<string, unknown>> {
    const durationMs = (args.duration_ms as number | undefined) ?? Math.min(this.settings.ptz_ms, this.settings.max_ptz_ms);
    const move = { pan: (args.pan as number | undefined) ?? 0, tilt: (args.tilt as number | undefined) ?? 0, zoom: (args.zoom as number | undefined) ?? 0 };
    return this.ptzLock.run(async () => {
      if (this.stopped) throw new DeviceError('offline', 'gatehouse is stopping; the camera is not moved', { notApplied: true });
      if (signal.aborted) throw new DeviceError('timeout', 'the command timed out before the move could start; nothing was sent', { notApplied: true });
      // A new move replaces the one under way; its own timer will stop it.
      this.clearStopTimer();
      try {
        await this.actions.perform('ptz', { ...move, duration_ms: durationMs }, signal);
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

  private stopNow(signal: AbortSignal): Promise<Record<string, unknown>> {
    return this.ptzLock.run(async () => {
      try {
        await this.actions.perform('stop', {}, signal);
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

  private gotoPreset(wanted: string, signal: AbortSignal): Promise<Record<string, unknown>> {
    return this.ptzLock.run(async () => {
      // A move's stop timer stays armed until the preset is taken: a refused preset must not leave the camera turning.
      const { data = {} } = await this.actions.perform('preset', { preset: wanted }, signal);
      // GotoPreset supersedes a continuous move (ONVIF PTZ service: a new move command replaces the current one).
      this.clearStopTimer();
      const preset = data.preset as { token: string; name: string } | undefined;
      this.preset = preset ?? { token: wanted, name: wanted };
      this.setMoving(null);
      this.touch();
      return data;
    });
  }

  private armStop(delayMs: number): void {
    this.clearStopTimer();
    if (this.stopped) return;
    const id = this.moveId;
    this.stopTimer = setTimeout(() => void this.endMove(id, 1), delayMs);
  }

  private clearStopTimer(): void {
    clearTimeout(this.stopTimer);
    this.stopTimer = undefined;
    this.moveId++;
  }

  /** The end of move `id`: Stop, retried with backoff a few times; the camera's own timeout is the last resort. */
  private async endMove(id: number, attempt: number): Promise<void> {
    await this.ptzLock.run(async () => {
      if (id !== this.moveId) return; // a newer move, a stop or a preset came first
      this.stopTimer = undefined;
      try {
        await this.actions.perform('stop', {});
        this.setMoving(null);
      } catch (err) {
        if (attempt >= STOP_ATTEMPTS || this.stopped) {
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
    this.touch();
  }

  private touch(): void {
    this.updatedAt = Date.now();
    this.ctx.sink.stateChanged();
  }

  snapshot(): Record<string, unknown> {
    return {
      ...this.info,
      clock_offset_ms: this.clockOffsetMs,
      moving: this.movingUntil !== null,
      moving_until: this.movingUntil,
      preset: this.preset,
      last_snapshot_at: this.lastSnapshotAt,
      updated_at: this.updatedAt,
    };
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.clearStopTimer();
    // After any move still in progress: never leave a camera turning because the gateway went away.
    await this.ptzLock.run(async () => {
      if (this.movingUntil === null) return;
      await this.actions.perform('stop', {}).catch((err: unknown) => this.ctx.log.error({ err }, 'could not stop the camera while stopping'));
      this.setMoving(null);
    });
  }
}

export const cameraKind: KindDefinition = {
  name: 'camera',
  points: {
    outputs: { required: [], optional: [] },
    inputs: { required: [], optional: [] },
  },
  actions: ['info', 'snapshot', 'ptz', 'stop', 'preset'],
  settings: {
    /** How long a `ptz` without duration_ms moves. */
    ptz_ms: { type: 'int', min: 50, max: 600_000, default: 500 },
    /** The longest move a `ptz` may ask for. */
    max_ptz_ms: { type: 'int', min: 50, max: 600_000, default: 10_000 },
  },
  commands: {
    snapshot: { args: {} },
    ptz: {
      // The ONVIF generic continuous velocity space is -1..1 on each axis; an absent axis stays still.
      args: (settings) => ({
        pan: { type: 'number', min: -1, max: 1 },
        tilt: { type: 'number', min: -1, max: 1 },
        zoom: { type: 'number', min: -1, max: 1 },
        duration_ms: { type: 'int', min: 50, max: settings.max_ptz_ms as number },
      }),
    },
    stop: { args: {} },
    preset: { args: { preset: { type: 'string', maxLength: 64 } }, required: ['preset'] },
  },
  // `snapshot` is announced by the gateway when it publishes a snapshot's image.
  events: ['snapshot'],
  createBehaviour: (ctx) => new CameraBehaviour(ctx),
};
