// A camera's event service, pull-point style (ONVIF Core section 9.2: no listening port on the
// gateway, so it works through NAT): GetEventProperties once per camera session (what the camera
// can report), CreatePullPointSubscription with an initial termination time, then PullMessages
// long polls, a Renew before the subscription would expire, and Unsubscribe at stop. A failed call
// (a fault, garbage, a timeout, a subscription the camera forgot after a restart) ends the
// subscription and a new one is made after the transport's backoff; while the camera's session is
// down the loop waits for it. Event calls go beside the SOAP queue, never in it: a long poll must
// not hold up a PTZ command.
import type { DriverLogger, ListenOptions, NoticeListener } from '../../driver-api.js';
import { Backoff } from '../backoff.js';
import { OnvifError } from './access.js';
import { noticeOf, topicWanted } from './events-map.js';
import { bodies, eventCall, readMessages, readPullPoint, readTimes, readTopicSet, type EventOperation, type PostEnvelope, type Security } from './events-soap.js';

/** What the subscription needs of its camera (camera.ts). */
export interface EventHost {
  readonly name: string;
  readonly log: DriverLogger;
  readonly backoff: { initialMs: number; maxMs: number };
  /** Per request, beyond a long poll's own wait. */
  readonly timeoutMs: number;
  /** The camera's current session, undefined while it is down. */
  session(): { session: number; eventsXaddr: string; clockOffsetMs: number } | undefined;
  security(clockOffsetMs: number): Security | undefined;
  post: PostEnvelope;
  /** Called with a listener for the camera's session coming up and going down; returns the remover. */
  watch(up: () => void, down: () => void): () => void;
}

export interface EventTiming {
  /** InitialTerminationTime asked for, and each Renew's. */
  subscriptionS: number;
  /** PullMessages Timeout: how long the camera may hold a pull when it has nothing. */
  pullTimeoutS: number;
}

export const DEFAULT_EVENT_TIMING: EventTiming = { subscriptionS: 60, pullTimeoutS: 10 };

interface Subscription {
  address: string;
  /** By our clock. */
  renewAt: number;
  expiresAt: number;
}

export class OnvifEventSubscription {
  private running = false;
  private loop: Promise<void> | null = null;
  private pass = new AbortController();
  private readonly backoff: Backoff;
  private unwatch: (() => void) | null = null;
  private propertiesOf = -1;
  /** What the camera said it can report (GetEventProperties), for diagnostics and the probe. */
  topics: string[] = [];
  /** Counters, for tests and diagnostics. */
  readonly counts = { subscriptions: 0, pulls: 0, renewals: 0, notifications: 0, failures: 0 };

  constructor(
    private readonly host: EventHost,
    private readonly opts: ListenOptions,
    private readonly listener: NoticeListener,
    private readonly timing: EventTiming = DEFAULT_EVENT_TIMING,
  ) {
    this.backoff = new Backoff(host.backoff);
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.unwatch = this.host.watch(
      () => this.kick(),
      () => this.pass.abort(new OnvifError('unreachable', 'offline', `camera ${this.host.name} session ended`)),
    );
    this.kick();
  }

  /** Stops the loop and unsubscribes (best effort, bounded by the request timeout). */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.unwatch?.();
    this.pass.abort(new OnvifError('unreachable', 'offline', `events of camera ${this.host.name} stopped`));
    await this.loop;
  }

  private kick(): void {
    if (!this.running || this.loop !== null) return;
    this.pass = new AbortController();
    this.loop = this.run().finally(() => {
      this.loop = null;
    });
  }

  private async run(): Promise<void> {
    while (this.running) {
      const session = this.host.session();
      if (session === undefined) {
        this.listener.status('waiting');
        return; // the host's `up` kicks the loop again
      }
      if (session.eventsXaddr === '') {
        this.listener.status('unsupported', 'the camera names no event service');
        this.host.log.warn({ camera: this.host.name }, 'camera has no event service; its events are not followed');
        return;
      }
      let subscription: Subscription | undefined;
      try {
        if (this.propertiesOf !== session.session) await this.readProperties(session.eventsXaddr, session.clockOffsetMs, session.session);
        subscription = await this.subscribe(session.eventsXaddr, session.clockOffsetMs);
        this.listener.status('subscribed');
        this.backoff.reset();
        await this.follow(subscription, session.session);
      } catch (err) {
        if (!this.running) break;
        const error = err instanceof OnvifError ? err : new OnvifError('bad_reply', 'device_error', String(err));
        this.counts.failures += 1;
        if (this.pass.signal.aborted) {
          // The camera's session ended under us: wait for it to come back.
          this.listener.status('waiting', error.message);
          if (this.host.session() === undefined) return;
          this.pass = new AbortController();
          continue;
        }
        const delay = this.backoff.next();
        this.host.log.warn({ camera: this.host.name, reason: error.reason, err: error.message, retry_in_ms: delay }, 'camera event subscription failed; subscribing again with backoff');
        this.listener.status('retrying', error.message);
        if (!(await this.wait(delay))) break;
      }
    }
    await this.unsubscribeLast();
  }

  private lastSubscription: Subscription | undefined;

  /** What the camera can report; a camera that answers this with a fault may still serve pull points. */
  private async readProperties(xaddr: string, clockOffsetMs: number, session: number): Promise<void> {
    try {
      this.topics = readTopicSet(await this.call('GetEventProperties', xaddr, bodies.getEventProperties(), clockOffsetMs, 0));
      this.host.log.info({ camera: this.host.name, topics: this.topics.length }, 'camera event properties read');
    } catch (err) {
      if (!(err instanceof OnvifError) || (err.reason !== 'soap_fault' && err.reason !== 'not_supported')) throw err;
      this.topics = [];
      this.host.log.warn({ camera: this.host.name, err: err.message }, 'camera would not list its event topics; subscribing to all');
    }
    this.propertiesOf = session;
  }

  private async subscribe(xaddr: string, clockOffsetMs: number): Promise<Subscription> {
    const response = await this.call('CreatePullPointSubscription', xaddr, bodies.createPullPoint(this.timing.subscriptionS), clockOffsetMs, 0);
    const pullPoint = readPullPoint(response, `CreatePullPointSubscription on camera ${this.host.name}`);
    this.counts.subscriptions += 1;
    const subscription = this.schedule(pullPoint.address, pullPoint);
    this.lastSubscription = subscription;
    this.host.log.info({ camera: this.host.name, expires_in_ms: subscription.expiresAt - Date.now() }, 'camera event subscription made');
    return subscription;
  }

  /** When to renew and when it expires by our clock, from the camera's CurrentTime and TerminationTime (so its clock offset does not matter). */
  private schedule(address: string, times: { currentTime: number | undefined; terminationTime: number | undefined }): Subscription {
    const now = Date.now();
    const remaining = times.currentTime !== undefined && times.terminationTime !== undefined ? times.terminationTime - times.currentTime : this.timing.subscriptionS * 1000;
    const lifetime = Math.max(1000, remaining);
    return { address, expiresAt: now + lifetime, renewAt: now + lifetime / 2 };
  }

  private async follow(sub: Subscription, session: number): Promise<void> {
    while (this.running) {
      const current = this.host.session();
      if (current === undefined || current.session !== session) throw new OnvifError('unreachable', 'offline', 'camera session changed');
      if (Date.now() >= sub.renewAt) {
        const renewed = await this.call('Renew', sub.address, bodies.renew(this.timing.subscriptionS), current.clockOffsetMs, 0);
        Object.assign(sub, this.schedule(sub.address, readTimes(renewed)));
        this.counts.renewals += 1;
        continue;
      }
      const waitS = Math.max(1, Math.min(this.timing.pullTimeoutS, Math.floor((sub.renewAt - Date.now()) / 1000)));
      const reply = await this.call('PullMessages', sub.address, bodies.pullMessages(waitS), current.clockOffsetMs, waitS * 1000);
      this.counts.pulls += 1;
      const { notifications } = readMessages(reply);
      for (const n of notifications) {
        if (!topicWanted(n.topic, this.opts.topics)) continue;
        const notice = noticeOf(n, current.clockOffsetMs);
        if (notice === null) continue;
        this.counts.notifications += 1;
        try {
          this.listener.notice(notice);
        } catch (err) {
          this.host.log.error({ camera: this.host.name, err: (err as Error).message }, 'camera event listener failed');
        }
      }
    }
  }

  private async unsubscribeLast(): Promise<void> {
    const sub = this.lastSubscription;
    const session = this.host.session();
    this.lastSubscription = undefined;
    if (sub === undefined || session === undefined || Date.now() >= sub.expiresAt) return;
    this.pass = new AbortController();
    try {
      await this.call('Unsubscribe', sub.address, bodies.unsubscribe(), session.clockOffsetMs, 0);
    } catch (err) {
      this.host.log.debug({ camera: this.host.name, err: (err as Error).message }, 'camera event Unsubscribe failed; the subscription expires by itself');
    }
  }

  private async call(operation: EventOperation, to: string, body: string, clockOffsetMs: number, extraMs: number) {
    const label = `${operation} on camera ${this.host.name}`;
    const timeoutMs = this.host.timeoutMs + extraMs;
    const controller = new AbortController();
    const onAbort = (): void => controller.abort(this.pass.signal.reason);
    this.pass.signal.addEventListener('abort', onAbort, { once: true });
    const timer = setTimeout(() => controller.abort(new OnvifError('timeout', 'timeout', `${label}: no complete reply within ${timeoutMs} ms`)), timeoutMs);
    try {
      if (this.pass.signal.aborted) throw this.pass.signal.reason;
      return await eventCall(this.host.post, operation, to, body, this.host.security(clockOffsetMs), controller.signal, label);
    } finally {
      clearTimeout(timer);
      this.pass.signal.removeEventListener('abort', onAbort);
    }
  }

  /** Waits `ms`, or less if stopped; false when stopped. */
  private wait(ms: number): Promise<boolean> {
    return new Promise((resolve) => {
      if (!this.running) return resolve(false);
      const signal = this.pass.signal;
      const done = (): void => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        resolve(this.running);
      };
      const timer = setTimeout(done, ms);
      signal.addEventListener('abort', done, { once: true });
    });
  }
}
