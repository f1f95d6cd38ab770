import { performance } from 'node:perf_hooks';
import { DeviceError, type Readings } from '../../driver-api.js';
import type { FieldValues } from '../fields.js';
import { OutputMutex } from '../output-mutex.js';
import type { Behaviour, BehaviourContext, KindDefinition, SafeState } from './types.js';

// A gate: one lock-release output (`unlock`, on = released), an optional door contact (`door`,
// true = open). The door model turns readings into state {lock, door, updated_at} and the events
// unlocked, locked, door_opened, door_closed, door_forced (opened while locked) and door_held_open.

type LockState = 'locked' | 'unlocked' | 'unknown';
type DoorState = 'open' | 'closed' | 'unknown';

const RELOCK_RETRY_MIN_MS = 250;
const RELOCK_RETRY_MAX_MS = 10_000;

class GateBehaviour implements Behaviour {
  private lock: LockState = 'unknown';
  private door: DoorState = 'unknown';
  private pulseUntil: number | null = null;
  private relockTimer: NodeJS.Timeout | undefined;
  private relockRetryMs = RELOCK_RETRY_MIN_MS;
  private heldTimer: NodeJS.Timeout | undefined;
  private lockedAt = 0;
  private lastWriteEndedAt = -Infinity;
  private updatedAt = Date.now();
  private stopped = false;
  private readonly outputs = new OutputMutex();

  constructor(private readonly ctx: BehaviourContext) {}

  private get settings() {
    return this.ctx.settings as {
      on_start: SafeState;
      unlock_ms: number;
      held_open_ms: number;
      relock_grace_ms: number;
    };
  }

  async applySafeState(): Promise<void> {
    const target = this.settings.on_start;
    if (target === 'leave') return;
    await this.setOutput(target === 'unlock', 'safe state on start', {});
  }

  async run(command: string, args: FieldValues, signal: AbortSignal): Promise<Record<string, unknown>> {
    if (command === 'unlock') return this.unlock((args.duration_ms as number | undefined) ?? this.settings.unlock_ms, signal);
    if (command === 'lock') return this.lockNow();
    throw new Error(`gate has no command ${command}`);
  }

  private async unlock(durationMs: number, signal: AbortSignal): Promise<Record<string, unknown>> {
    // Unlocking while a pulse runs extends it; it never shortens it. The pulse is measured from
    // the moment the output was written, not from when the command arrived.
    let until = 0;
    try {
      await this.setOutput(true, 'unlock command', {
        signal,
        args: { duration_ms: durationMs },
        afterWrite: () => {
          until = Math.max(this.pulseUntil ?? 0, Date.now() + durationMs);
          this.pulseUntil = until;
        },
      });
    } catch (err) {
      // The request may have reached the device even though no reply came back (a late or lost
      // reply, a link that dropped mid-request): relock now rather than leave the door released.
      const mayHaveReleased = !(err instanceof DeviceError && err.notApplied);
      if (mayHaveReleased && this.pulseUntil === null) this.scheduleRelockRetry();
      throw err;
    }
    this.armRelock();
    this.ctx.sink.stateChanged();
    return { unlocked_until: until };
  }

  private async lockNow(): Promise<Record<string, unknown>> {
    this.pulseUntil = null;
    this.clearRelock();
    try {
      await this.setOutput(false, 'lock command', {});
    } catch (err) {
      // The command fails, but the door must still end up locked: keep trying in the background.
      this.scheduleRelockRetry();
      throw err;
    }
    return {};
  }

  private armRelock(): void {
    this.clearRelock();
    if (this.pulseUntil === null || this.stopped) return;
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
      await this.setOutput(false, 'end of unlock pulse', { stillWanted: () => this.pulseUntil === null });
      this.relockRetryMs = RELOCK_RETRY_MIN_MS;
    } catch (err) {
      this.ctx.log.error({ err, retry_ms: this.relockRetryMs }, 'relock failed; retrying');
      this.scheduleRelockRetry();
    }
  }

  private scheduleRelockRetry(): void {
    if (this.stopped) return;
    this.clearRelock();
    this.relockTimer = setTimeout(() => void this.relock(), this.relockRetryMs);
    this.relockRetryMs = Math.min(this.relockRetryMs * 2, RELOCK_RETRY_MAX_MS);
  }

  /**
   * Write the release output. Writes of one gate never overtake each other; `stillWanted` is
   * checked once the write's turn comes, so a relock queued behind a fresh unlock is dropped.
   * A command's `signal` withdraws its write if the command timed out before the write's turn.
   */
  private setOutput(
    release: boolean,
    reason: string,
    opts: { stillWanted?: () => boolean; afterWrite?: () => void; signal?: AbortSignal; args?: Record<string, string | number> },
  ): Promise<void> {
    return this.outputs.run(async () => {
      if (opts.stillWanted && !opts.stillWanted()) return;
      if (release && this.stopped) throw new DeviceError('offline', 'gatehouse is stopping; the gate is not released', { notApplied: true });
      if (opts.signal?.aborted) throw new DeviceError('timeout', 'the command timed out before its write could start; nothing was written', { notApplied: true });
      try {
        await this.ctx.outputs.write('unlock', release, opts.signal, opts.args);
      } finally {
        this.lastWriteEndedAt = performance.now();
      }
      this.ctx.log.info({ release, reason }, release ? 'gate released' : 'gate locked');
      opts.afterWrite?.();
      this.setLock(release ? 'unlocked' : 'locked');
    });
  }

  private setLock(next: LockState): void {
    if (next === this.lock) return;
    const previous = this.lock;
    this.lock = next;
    this.touch();
    if (next === 'locked') this.lockedAt = Date.now();
    if (previous !== 'unknown' || next === 'unlocked') this.ctx.sink.event(next === 'locked' ? 'locked' : 'unlocked');
    this.ctx.sink.stateChanged();
  }

  observe(readings: Readings, readStartedAt: number): void {
    // A readback taken before our last write finished says nothing about the output now.
    if (typeof readings.unlock === 'boolean' && readStartedAt > this.lastWriteEndedAt && !this.outputs.busy) {
      const hardware: LockState = readings.unlock ? 'unlocked' : 'locked';
      if (hardware !== this.lock && this.lock !== 'unknown') {
        this.ctx.log.warn({ expected: this.lock, hardware }, 'lock output changed outside gatehouse');
      }
      if (hardware === 'locked' && this.pulseUntil !== null) {
        this.pulseUntil = null;
        this.clearRelock();
      }
      this.setLock(hardware);
    }
    if (typeof readings.door === 'boolean') this.setDoor(readings.door ? 'open' : 'closed');
  }

  private setDoor(next: DoorState): void {
    const previous = this.door;
    if (next === previous) return;
    this.door = next;
    this.touch();
    if (previous !== 'unknown') {
      if (next === 'open') {
        const forced = this.lock === 'locked' && Date.now() - this.lockedAt > this.settings.relock_grace_ms;
        this.ctx.sink.event(forced ? 'door_forced' : 'door_opened');
      } else {
        this.ctx.sink.event('door_closed');
      }
    }
    clearTimeout(this.heldTimer);
    this.heldTimer = undefined;
    if (next === 'open' && !this.stopped) {
      const openedAt = Date.now();
      this.heldTimer = setTimeout(() => {
        this.heldTimer = undefined;
        if (this.door === 'open') this.ctx.sink.event('door_held_open', { open_ms: Date.now() - openedAt });
      }, this.settings.held_open_ms);
    }
    this.ctx.sink.stateChanged();
  }

  private touch(): void {
    this.updatedAt = Date.now();
  }

  snapshot(): Record<string, unknown> {
    return { lock: this.lock, door: this.door, unlocked_until: this.pulseUntil, updated_at: this.updatedAt };
  }

  async stop(): Promise<void> {
    clearTimeout(this.heldTimer);
    this.stopped = true;
    // Let a write already under way finish first: it may be a release that nothing would end.
    await this.outputs.run(async () => undefined);
    const pulsing = this.pulseUntil !== null || this.relockTimer !== undefined;
    const notKnownLocked = this.settings.on_start === 'lock' && this.lock !== 'locked';
    this.clearRelock();
    if (pulsing || notKnownLocked) {
      // Never leave a door released because the gateway went away mid-pulse.
      this.pulseUntil = null;
      await this.setOutput(false, 'gateway stopping mid-pulse', {}).catch((err) =>
        this.ctx.log.error({ err }, 'could not relock while stopping'),
      );
    }
  }
}

export const gateKind: KindDefinition = {
  name: 'gate',
  points: {
    outputs: { required: ['unlock'], optional: [] },
    inputs: { required: [], optional: ['door'] },
  },
  settings: {
    on_start: { type: 'enum', values: ['lock', 'unlock', 'leave'], default: 'lock' },
    unlock_ms: { type: 'int', min: 100, max: 3_600_000, default: 5000 },
    max_unlock_ms: { type: 'int', min: 100, max: 3_600_000, default: 60_000 },
    held_open_ms: { type: 'int', min: 1000, max: 86_400_000, default: 30_000 },
    relock_grace_ms: { type: 'int', min: 0, max: 60_000, default: 1500 },
  },
  commands: {
    unlock: { args: (settings) => ({ duration_ms: { type: 'int', min: 100, max: settings.max_unlock_ms as number } }) },
    lock: { args: {} },
  },
  events: ['unlocked', 'locked', 'door_opened', 'door_closed', 'door_forced', 'door_held_open'],
  createBehaviour: (ctx) => new GateBehaviour(ctx),
};
