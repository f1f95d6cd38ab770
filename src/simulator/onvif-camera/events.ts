// Part of the simulated ONVIF camera (camera.ts): its event service, pull-point style (ONVIF Core
// section 9.2). CreatePullPointSubscription makes a pull point with a termination time (by the
// camera's clock) and queues one Initialized message per property (the state at subscription
// time); PullMessages answers at once with what is queued or holds the request until a message
// comes or its Timeout passes (a long poll); Renew moves the termination time; Unsubscribe and
// expiry delete it, after which its address answers with a fault. Properties: motion (the video
// source's MotionAlarm and a cell motion rule), tamper (a tamper rule and the global scene
// change), digital inputs. A restart of the camera loses every pull point.
import { EVENT_NS, eventPropertiesResponse, pullMessagesResponse, pullPointResponse, renewResponse, unsubscribeResponse, type SimNotification, type TopicDescription } from './events-replies.js';
import { childText, type XmlElement } from './xml-tree.js';

export const EVENT_SERVICE_PATH = '/onvif/event_service';
export const PULL_POINT_PATH = '/onvif/pull_point/';
/** A pull point holds at most this many messages; older ones are dropped, as cameras do. */
const QUEUE_LIMIT = 1000;
const MAX_TERMINATION_MS = 3_600_000;

export const VIDEO_SOURCE = 'VideoSource_1';
export const MOTION_RULE = 'MyMotionDetectorRule';
export const TAMPER_RULE = 'MyTamperDetectorRule';

/** A fault the event handlers throw; camera.ts turns it into a SOAP Fault reply. */
export class EventFault extends Error {
  constructor(
    readonly code: 'Sender' | 'Receiver',
    readonly subcodes: string[],
    readonly reason: string,
  ) {
    super(reason);
  }
}

interface PullPoint {
  id: string;
  /** Camera clock. */
  terminatesAt: number;
  queue: SimNotification[];
  waiter: { wake(): void } | null;
}

export interface EventRaise {
  /** Which rule or source: motion uses the cell motion rule when `rule` is given, else the video source's MotionAlarm. */
  rule?: string;
}

const TOPICS: TopicDescription[] = [
  { topic: 'VideoSource/MotionAlarm', source: { Source: 'tt:ReferenceToken' }, data: { State: 'xs:boolean' } },
  { topic: 'RuleEngine/CellMotionDetector/Motion', source: { VideoSourceConfigurationToken: 'tt:ReferenceToken', VideoAnalyticsConfigurationToken: 'tt:ReferenceToken', Rule: 'xs:string' }, data: { IsMotion: 'xs:boolean' } },
  { topic: 'RuleEngine/TamperDetector/Tamper', source: { VideoSourceConfigurationToken: 'tt:ReferenceToken', VideoAnalyticsConfigurationToken: 'tt:ReferenceToken', Rule: 'xs:string' }, data: { IsTamper: 'xs:boolean' } },
  { topic: 'VideoSource/GlobalSceneChange/ImagingService', source: { Source: 'tt:ReferenceToken' }, data: { State: 'xs:boolean' } },
  { topic: 'Device/Trigger/DigitalInput', source: { InputToken: 'tt:ReferenceToken' }, data: { LogicalState: 'xs:boolean' } },
];

/** One PullMessages as the camera answered it, for tests: when it came, when it was answered, what it carried. */
export interface PullRecord {
  startedAt: number;
  answeredAt: number;
  topics: string[];
}

export class SimulatedEventService {
  readonly pulls: PullRecord[] = [];
  private readonly pullPoints = new Map<string, PullPoint>();
  private nextId = 1;
  /** Property states by topic and the Source items naming the instance. */
  private readonly properties = new Map<string, { topic: string; source: Record<string, string>; data: Record<string, string> }>();

  constructor(
    /** The camera's clock. */
    private readonly now: () => number,
    /** http://127.0.0.1:port, for pull-point addresses. */
    private readonly base: () => string,
    inputs: readonly string[],
  ) {
    const set = (topic: string, source: Record<string, string>, data: Record<string, string>) => this.properties.set(key(topic, source), { topic, source, data });
    set('VideoSource/MotionAlarm', { Source: VIDEO_SOURCE }, { State: 'false' });
    set('RuleEngine/CellMotionDetector/Motion', ruleSource(MOTION_RULE), { IsMotion: 'false' });
    set('RuleEngine/TamperDetector/Tamper', ruleSource(TAMPER_RULE), { IsTamper: 'false' });
    set('VideoSource/GlobalSceneChange/ImagingService', { Source: VIDEO_SOURCE }, { State: 'false' });
    for (const input of inputs) set('Device/Trigger/DigitalInput', { InputToken: input }, { LogicalState: 'false' });
  }

  /** Pull points alive now (expired ones are dropped as they are counted). */
  activePullPoints(): number {
    this.expire();
    return this.pullPoints.size;
  }

  /** The camera rebooted: every pull point is gone, and so is every held request's answer. */
  reset(): void {
    for (const p of this.pullPoints.values()) p.waiter?.wake();
    this.pullPoints.clear();
  }

  motion(active: boolean, opts: EventRaise = {}): void {
    if (opts.rule !== undefined) this.change('RuleEngine/CellMotionDetector/Motion', ruleSource(opts.rule), { IsMotion: String(active) });
    else this.change('VideoSource/MotionAlarm', { Source: VIDEO_SOURCE }, { State: String(active) });
  }

  tamper(active: boolean, opts: { scene?: boolean; rule?: string } = {}): void {
    if (opts.scene) this.change('VideoSource/GlobalSceneChange/ImagingService', { Source: VIDEO_SOURCE }, { State: String(active) });
    else this.change('RuleEngine/TamperDetector/Tamper', ruleSource(opts.rule ?? TAMPER_RULE), { IsTamper: String(active) });
  }

  input(token: string, active: boolean): void {
    this.change('Device/Trigger/DigitalInput', { InputToken: token }, { LogicalState: String(active) });
  }

  /** Any notification, e.g. a topic gatehouse does not map. */
  raise(topic: string, source: Record<string, string>, data: Record<string, string>, operation: SimNotification['operation'] = 'Changed'): void {
    this.publish({ topic, utcTime: new Date(this.now()), operation, source, data });
  }

  private change(topic: string, source: Record<string, string>, data: Record<string, string>): void {
    this.properties.set(key(topic, source), { topic, source, data });
    this.raise(topic, source, data, 'Changed');
  }

  private publish(n: SimNotification): void {
    this.expire();
    for (const p of this.pullPoints.values()) {
      p.queue.push(n);
      if (p.queue.length > QUEUE_LIMIT) p.queue.shift();
      p.waiter?.wake();
    }
  }

  private expire(): void {
    const now = this.now();
    for (const [id, p] of this.pullPoints) {
      if (p.terminatesAt <= now) {
        p.waiter?.wake();
        this.pullPoints.delete(id);
      }
    }
  }

  /** An operation on the event service (GetEventProperties, CreatePullPointSubscription). */
  serviceOperation(operation: string, request: XmlElement): string {
    if (operation === 'GetEventProperties') return eventPropertiesResponse(TOPICS);
    if (operation === 'CreatePullPointSubscription') {
      const now = this.now();
      const termination = terminationOf(childText(request, EVENT_NS.tev, 'InitialTerminationTime'), now, 60_000);
      const id = String(this.nextId++);
      const initial = [...this.properties.values()].map((p) => ({ ...p, utcTime: new Date(now), operation: 'Initialized' as const }));
      this.pullPoints.set(id, { id, terminatesAt: termination, queue: initial, waiter: null });
      return pullPointResponse(`${this.base()}${PULL_POINT_PATH}${id}`, new Date(now), new Date(termination));
    }
    throw new EventFault('Receiver', ['ter:ActionNotSupported'], `${operation} is not an operation of the event service`);
  }

  /** An operation on a pull point (PullMessages, Renew, Unsubscribe); a long poll waits here. `gone` resolves when the request's connection closed. */
  async pullPointOperation(id: string, operation: string, request: XmlElement, gone: Promise<void>): Promise<string> {
    this.expire();
    const p = this.pullPoints.get(id);
    if (p === undefined) throw new EventFault('Sender', ['ter:InvalidArgVal', 'ter:ResourceUnknown'], `no subscription ${id} (unsubscribed, expired, or the camera restarted)`);
    if (operation === 'Renew') {
      // One reading of the clock: the answer's CurrentTime is the time the termination counts from.
      const now = this.now();
      p.terminatesAt = terminationOf(childText(request, EVENT_NS.wsnt, 'TerminationTime'), now, 60_000);
      return renewResponse(new Date(now), new Date(p.terminatesAt));
    }
    if (operation === 'Unsubscribe') {
      p.waiter?.wake();
      this.pullPoints.delete(id);
      return unsubscribeResponse();
    }
    if (operation !== 'PullMessages') throw new EventFault('Receiver', ['ter:ActionNotSupported'], `${operation} is not an operation of a pull point`);
    const startedAt = Date.now();
    const timeoutMs = durationMs(childText(request, EVENT_NS.tev, 'Timeout') ?? '') ?? 0;
    const limit = Math.max(1, Number.parseInt(childText(request, EVENT_NS.tev, 'MessageLimit') ?? '1', 10) || 1);
    if (p.queue.length === 0 && timeoutMs > 0) {
      p.waiter?.wake();
      await new Promise<void>((resolve) => {
        const wake = (): void => {
          clearTimeout(timer);
          if (p.waiter === waiter) p.waiter = null;
          resolve();
        };
        const waiter = { wake };
        const timer = setTimeout(wake, Math.min(timeoutMs, p.terminatesAt - this.now()));
        p.waiter = waiter;
        void gone.then(wake);
      });
    }
    if (!this.pullPoints.has(id)) throw new EventFault('Sender', ['ter:InvalidArgVal', 'ter:ResourceUnknown'], `subscription ${id} ended while the pull waited`);
    const messages = p.queue.splice(0, limit);
    this.pulls.push({ startedAt, answeredAt: Date.now(), topics: messages.map((m) => m.topic) });
    if (this.pulls.length > 1000) this.pulls.shift();
    return pullMessagesResponse(new Date(this.now()), new Date(p.terminatesAt), messages);
  }
}

function key(topic: string, source: Record<string, string>): string {
  return `${topic} ${JSON.stringify(source)}`;
}

function ruleSource(rule: string): Record<string, string> {
  return { VideoSourceConfigurationToken: 'VideoSourceToken', VideoAnalyticsConfigurationToken: 'VideoAnalyticsToken', Rule: rule };
}

/** A termination time: an xs:duration from now or an xs:dateTime (camera clock), capped; `fallback` when absent. */
function terminationOf(text: string | undefined, now: number, fallbackMs: number): number {
  if (text === undefined || text === '') return now + fallbackMs;
  const relative = durationMs(text);
  if (relative !== null) return now + Math.min(relative, MAX_TERMINATION_MS);
  const absolute = Date.parse(text);
  if (!Number.isFinite(absolute)) throw new EventFault('Sender', ['ter:InvalidArgVal', 'wsntw:UnacceptableInitialTerminationTimeFault'], `termination time ${JSON.stringify(text)} is neither a duration nor a date-time`);
  return Math.min(absolute, now + MAX_TERMINATION_MS);
}

/** xs:duration with hours, minutes and seconds (PT1H2M3.5S), in ms; null when not one. */
function durationMs(text: string): number | null {
  const m = /^PT(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?$/.exec(text);
  if (m === null || text === 'PT') return null;
  const [, h = '0', min = '0', s = '0'] = m;
  return (Number(h) * 60 + Number(min)) * 60_000 + Math.round(Number(s) * 1000);
}
