// What a device says about itself (a camera: model, firmware, profile, stream and snapshot URIs
// without credentials), from its driver's `info` action: asked before the device is announced
// online and again whenever the driver reports a new session (the device was set up afresh after
// an outage or a reboot). Also its clock offset, republished only when it moved noticeably.
import type { Readings } from '../../driver-api.js';
import { actionsOf } from './action-port.js';
import type { Piece, PieceContext, PieceRuntime } from './piece.js';

/** A clock offset that moved less than this since the state last said is not news. */
const CLOCK_OFFSET_NEWS_MS = 2000;

export class DeviceFacts implements PieceRuntime {
  private facts: Record<string, unknown> = {};
  private session: number | undefined;
  private clockOffsetMs: number | null = null;

  constructor(private readonly ctx: PieceContext) {}

  /** Nothing to drive: the device is ready once it has said what it is. */
  async applySafeState(): Promise<void> {
    await this.refresh();
  }

  observe(readings: Readings): void {
    if (typeof readings.session === 'number' && readings.session !== this.session) {
      this.refresh().catch((err: unknown) => this.ctx.log.warn({ err }, `${this.ctx.kind} facts not refreshed`));
    }
    const offset = readings.clock_offset_ms;
    if (typeof offset === 'number' && (this.clockOffsetMs === null || Math.abs(offset - this.clockOffsetMs) >= CLOCK_OFFSET_NEWS_MS)) {
      this.clockOffsetMs = offset;
      this.ctx.touch();
    }
  }

  private async refresh(): Promise<void> {
    const { data = {} } = await actionsOf(this.ctx).perform('info', {});
    const { session, clock_offset_ms: offset, ...facts } = data;
    this.session = typeof session === 'number' ? session : undefined;
    if (typeof offset === 'number') this.clockOffsetMs = offset;
    if (JSON.stringify(facts) !== JSON.stringify(this.facts)) {
      this.facts = facts;
      this.ctx.touch();
    }
  }

  state(): Record<string, unknown> {
    return { ...this.facts, clock_offset_ms: this.clockOffsetMs };
  }
}

/** `facts`: the fields the driver's info action reports (documented by the kind), all absent until it answered. */
export function deviceFacts(facts: Record<string, string>): Piece<DeviceFacts> {
  return {
    actions: ['info'],
    state: { ...facts, clock_offset_ms: 'The device clock minus ours, ms; null until measured.' },
    create: (ctx) => new DeviceFacts(ctx),
  };
}
