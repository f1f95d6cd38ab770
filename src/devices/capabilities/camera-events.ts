// A camera's own events (its ONVIF event service, through the driver's listen): motion, tamper and
// the camera's alarm inputs as state fields and events, other topics passed on as `onvif_event`.
// What the camera reports as the state at subscription time (Initialized) sets the state quietly;
// changes emit. Per source (a motion rule, a video source, an input), an event comes at most once
// per min_interval_ms: changes in between are folded into one trailing event carrying the latest
// state. Per camera, at most max_per_minute events: beyond it they are dropped, counted, and
// logged once per burst; the state still follows the camera.
import type { DeviceNotice } from '../../driver-api.js';
import { parseCameraEvents, type CameraEventsConfig } from './camera-events-config.js';
import type { Piece, PieceContext, PieceRuntime } from './piece.js';

type Subject = 'motion' | 'tamper' | 'input';
type SubscriptionStatus = 'off' | 'waiting' | 'subscribed' | 'retrying' | 'unsupported';

const EVENT_NAMES: Record<Subject, [on: string, off: string]> = {
  motion: ['motion', 'motion_end'],
  tamper: ['tamper', 'tamper_end'],
  input: ['input_active', 'input_inactive'],
};
/** The detail naming the source of each subject's events. */
const SOURCE_KEY: Record<Subject, string> = { motion: 'source', tamper: 'source', input: 'input' };
/** Sources remembered per subject (a camera with more is misbehaving): the rest are not tracked. */
const MAX_SOURCES = 64;
const MINUTE_MS = 60_000;

interface Pending {
  timer: NodeJS.Timeout;
  notice: DeviceNotice;
}

export class CameraEvents implements PieceRuntime {
  private readonly config: CameraEventsConfig;
  /** Per subject, per source: active or not. */
  private readonly sources: Record<Subject, Map<string, boolean>> = { motion: new Map(), tamper: new Map(), input: new Map() };
  /** Per subject and source: when its last event went out, the state it said, and a trailing one waiting. */
  private readonly lastEmitted = new Map<string, { at: number; active: boolean }>();
  private readonly pending = new Map<string, Pending>();
  /** Emission times within the last minute (rate limit). */
  private readonly window: number[] = [];
  private dropped = 0;
  private status: SubscriptionStatus = 'off';
  private stopListening: (() => Promise<void>) | null = null;
  private stopped = false;
  /** Counters for diagnostics and tests. */
  readonly counts = { emitted: 0, debounced: 0, rateLimited: 0 };

  constructor(private readonly ctx: PieceContext) {
    this.config = (ctx.sections?.events as CameraEventsConfig | undefined) ?? parseCameraEvents(undefined, 'events', []);
  }

  /** Starts listening once the camera is first reached (nothing to drive). */
  async applySafeState(): Promise<void> {
    if (!this.config.enabled || this.stopListening !== null || this.stopped) return;
    if (this.ctx.notices === undefined) {
      this.setStatus('unsupported');
      this.ctx.log.warn({}, 'events enabled, but the driver of this camera does not listen for events');
      return;
    }
    this.stopListening = this.ctx.notices.listen(this.config.topics === undefined ? {} : { topics: this.config.topics }, {
      notice: (n) => this.onNotice(n),
      status: (s) => this.setStatus(s),
    });
  }

  private setStatus(status: SubscriptionStatus): void {
    if (status === this.status) return;
    this.status = status;
    this.ctx.changed();
  }

  private onNotice(n: DeviceNotice): void {
    if (this.stopped) return;
    if (n.subject === 'other') {
      if (!n.initialized) this.emit('onvif_event', n, { ...n.details });
      return;
    }
    const sources = this.sources[n.subject];
    if (!sources.has(n.name) && sources.size >= MAX_SOURCES) return;
    const active = n.active === true;
    const before = sources.get(n.name);
    sources.set(n.name, active);
    if (before !== active) this.ctx.touch();
    if (n.initialized) {
      // The state at subscription time is no news; it is what later changes are measured against.
      this.lastEmitted.set(key(n.subject, n.name), { at: 0, active });
      return;
    }
    if (before === active) return;
    this.debounce(n.subject, n);
  }

  private debounce(subject: Subject, n: DeviceNotice): void {
    const k = key(subject, n.name);
    const last = this.lastEmitted.get(k);
    const waiting = this.pending.get(k);
    const now = Date.now();
    if (waiting !== undefined) {
      waiting.notice = n;
      this.counts.debounced += 1;
      return;
    }
    if (last === undefined || now - last.at >= this.config.min_interval_ms) {
      this.emitState(subject, n);
      return;
    }
    this.counts.debounced += 1;
    const timer = setTimeout(() => {
      const p = this.pending.get(k);
      this.pending.delete(k);
      // Only what still differs from the last event said goes out (on-off-on within the interval is no news).
      if (p !== undefined && !this.stopped && this.lastEmitted.get(k)?.active !== (p.notice.active === true)) this.emitState(subject, p.notice);
    }, last.at + this.config.min_interval_ms - now);
    this.pending.set(k, { timer, notice: n });
  }

  private emitState(subject: Subject, n: DeviceNotice): void {
    const active = n.active === true;
    const [on, off] = EVENT_NAMES[subject];
    if (this.emit(active ? on : off, n, { [SOURCE_KEY[subject]]: n.name, topic: n.details.topic ?? '' })) {
      this.lastEmitted.set(key(subject, n.name), { at: Date.now(), active });
    }
  }

  /** Emits unless the camera is over its rate; the event's time is the camera's, on our clock. */
  private emit(type: string, n: DeviceNotice, details: Record<string, unknown>): boolean {
    const now = Date.now();
    while (this.window.length > 0 && now - this.window[0] >= MINUTE_MS) this.window.shift();
    if (this.window.length >= this.config.max_per_minute) {
      this.counts.rateLimited += 1;
      if (this.dropped === 0) this.ctx.log.warn({ max_per_minute: this.config.max_per_minute, event: type }, 'camera events over the rate limit; dropping them until the rate falls');
      this.dropped += 1;
      return false;
    }
    if (this.dropped > 0) {
      this.ctx.log.warn({ dropped: this.dropped, max_per_minute: this.config.max_per_minute }, 'camera events were dropped by the rate limit');
      this.dropped = 0;
    }
    this.window.push(now);
    this.counts.emitted += 1;
    const cameraTime = n.deviceTime === undefined ? {} : { camera_time: new Date(n.deviceTime).toISOString(), at: n.deviceTime - n.clockOffsetMs };
    this.ctx.sink.event(type, { ...details, ...cameraTime, received_at: now });
    return true;
  }

  state(): Record<string, unknown> {
    const any = (subject: Subject): boolean | null => {
      const values = [...this.sources[subject].values()];
      return values.length === 0 ? null : values.some(Boolean);
    };
    return {
      motion: any('motion'),
      tamper: any('tamper'),
      inputs: Object.fromEntries([...this.sources.input].sort(([a], [b]) => a.localeCompare(b))),
      events: this.status,
    };
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const p of this.pending.values()) clearTimeout(p.timer);
    this.pending.clear();
    const stop = this.stopListening;
    this.stopListening = null;
    await stop?.();
  }
}

function key(subject: Subject, name: string): string {
  return `${subject}\n${name}`;
}

export function cameraEvents(): Piece<CameraEvents> {
  return {
    sections: {
      events: {
        doc: "The camera's own events (ONVIF event service): {enabled, topics?, min_interval_ms, max_per_minute}.",
        parse: parseCameraEvents,
      },
    },
    events: {
      motion: { doc: 'Motion began: {source (the motion rule or video source), topic, camera_time, at, received_at}.', external: true },
      motion_end: { doc: 'Motion ended: {source, topic, camera_time, at, received_at}.', external: true },
      tamper: { doc: 'The camera was tampered with (covered, turned, defocused; a tamper rule or a global scene change): {source, topic, camera_time, at, received_at}.', security: true, external: true },
      tamper_end: { doc: 'The tampering ended: {source, topic, camera_time, at, received_at}.', security: true, external: true },
      input_active: { doc: "An alarm input of the camera went active: {input (its token), topic, camera_time, at, received_at}.", external: true },
      input_inactive: { doc: 'An alarm input went inactive: {input, topic, camera_time, at, received_at}.', external: true },
      onvif_event: { doc: 'Another ONVIF topic: {topic, source.<item>, data.<item>} (at most 16 items of 256 characters).', external: true },
    },
    state: {
      motion: 'true while any motion rule or video source reports motion; null until the camera said (events off or not yet subscribed).',
      tamper: 'true while the camera reports tampering; null until the camera said.',
      inputs: 'The alarm inputs the camera reported, by token: true when active.',
      events: 'The event subscription: "off" (events.enabled false), "waiting" (camera not up), "subscribed", "retrying", "unsupported".',
    },
    create: (ctx) => new CameraEvents(ctx),
  };
}
