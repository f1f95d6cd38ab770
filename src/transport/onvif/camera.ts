// An ONVIF camera: a session set up by node-onvif's init (GetSystemDateAndTime for the clock
// offset, GetCapabilities, GetDeviceInformation, GetProfiles, GetStreamUri, GetSnapshotUri), SOAP
// requests one at a time (commands ahead of polls), snapshot downloads one at a time beside them.
// A session ends when the camera stops answering (unreachable, timeout) or refuses the credentials;
// it is set up again with capped backoff. Each init gets a fresh OnvifDevice: 0.1.7's init appends
// to the profile list of an existing one.
import { EventEmitter } from 'node:events';
import http from 'node:http';
import https from 'node:https';
import { createRequire } from 'node:module';
import type onvifModule from 'node-onvif';
import type { OnvifDevice } from 'node-onvif';
import { type DriverLogger, type ListenOptions, type NoticeListener } from '../../driver-api.js';
import { OnvifError, type OnvifAccess, type OnvifEventHandle, type OnvifEventTiming, type OnvifCameraInfo, type OnvifPreset, type OnvifProfile, type OnvifRequestOptions, type OnvifSnapshot, type PtzVelocity } from './access.js';
import { ExclusiveQueue } from '../exclusive-queue.js';
import { raceRevoked } from '../race-revoked.js';
import { ReconnectLoop } from '../reconnect-loop.js';
import type { Credentials } from './http-auth.js';
import { DEFAULT_EVENT_TIMING, OnvifEventSubscription, type EventHost } from './events.js';
import { httpExchange, type HttpAgents } from './http.js';
import { inSoapScope, installSoapLayer, isRecord, text, type SoapScope } from './soap.js';
import { withoutCredentials } from './uri-redact.js';

export interface OnvifCameraConfig {
  /** The device management service address, e.g. http://10.0.0.5/onvif/device_service. */
  xaddr: string;
  /** '' for a camera without authentication. */
  user: string;
  password: string;
  /** Per request (a SOAP call, or a snapshot's download with its auth round trip). */
  timeoutMs: number;
  /** The whole init sequence. */
  initTimeoutMs: number;
  /** Longest SOAP reply accepted. */
  maxBodyBytes: number;
  /** Longest snapshot accepted. */
  maxImageBytes: number;
  backoff: { initialMs: number; maxMs: number };
}

interface Session {
  device: OnvifDevice;
  info: OnvifCameraInfo;
  /** Snapshot URIs as the camera gave them (credentials included), by profile token. */
  snapshotUris: Map<string, string>;
  /** The event service's address (GetCapabilities Events/XAddr); '' when the camera has none. */
  eventsXaddr: string;
}

/** Failures after which the session is set up again: the camera went away, or stopped accepting us. */
const SESSION_ENDING = new Set(['unreachable', 'timeout', 'not_authorized']);

export class OnvifCamera extends EventEmitter implements OnvifAccess {
  readonly kind = 'onvif' as const;
  private readonly soapQueue = new ExclusiveQueue();
  private readonly imageQueue = new ExclusiveQueue();
  private readonly reconnect: ReconnectLoop;
  private readonly credentials: Credentials | undefined;
  private agents: HttpAgents | null = null;
  /** The event service's own connections, so a long poll never takes a socket a command needs. */
  private eventAgents: HttpAgents | null = null;
  private lifetime = new AbortController();
  private session: Session | null = null;
  private sessions = 0;
  /** Why the camera is not connected, for diagnostics. */
  lastError: OnvifError | undefined;

  constructor(
    readonly name: string,
    private readonly cfg: OnvifCameraConfig,
    private readonly log: DriverLogger,
  ) {
    super();
    this.reconnect = new ReconnectLoop(cfg.backoff, log, {
      up: 'camera initialised',
      upAgain: 'camera initialised again',
      failed: 'camera init failed; retrying with backoff',
      failedAgain: 'camera init failed again',
      lost: 'camera session ended; initialising again with backoff',
    }, () => this.connect());
    this.credentials = cfg.user === '' ? undefined : { user: cfg.user, password: cfg.password };
  }

  get connected(): boolean {
    return this.session !== null;
  }

  async start(): Promise<void> {
    if (this.reconnect.running) return;
    installSoapLayer();
    this.lifetime = new AbortController();
    this.agents = { http: new http.Agent({ keepAlive: true, maxSockets: 2 }), https: new https.Agent({ keepAlive: true, maxSockets: 2 }) };
    this.eventAgents = { http: new http.Agent({ keepAlive: true, maxSockets: 1 }), https: new https.Agent({ keepAlive: true, maxSockets: 1 }) };
    this.reconnect.start();
  }

  async stop(): Promise<void> {
    if (!this.reconnect.running) return;
    this.reconnect.stop();
    const stopped = new OnvifError('unreachable', 'offline', `camera ${this.name} stopped`, { notApplied: true });
    this.lifetime.abort(stopped);
    this.session = null;
    this.soapQueue.clear(stopped);
    this.imageQueue.clear(stopped);
    await this.reconnect.attempting;
    this.agents?.http.destroy();
    this.agents?.https.destroy();
    this.agents = null;
    this.eventAgents?.http.destroy();
    this.eventAgents?.https.destroy();
    this.eventAgents = null;
  }

  info(): OnvifCameraInfo | undefined {
    return this.session === null ? undefined : structuredClone(this.session.info);
  }

  probe(opts: OnvifRequestOptions): Promise<{ session: number; clockOffsetMs: number }> {
    return this.soap('GetSystemDateAndTime', opts, async (s) => {
      await s.device.services.device.getSystemDateAndTime();
      const clockOffsetMs = s.device.services.device.getTimeDiff();
      // node-onvif hands each service the offset measured at init; a camera clock set since (NTP
      // after boot) would make every later UsernameToken's Created fall outside its window.
      for (const service of Object.values(s.device.services)) {
        if (isRecord(service) && typeof service.time_diff === 'number') service.time_diff = clockOffsetMs;
      }
      s.device.time_diff = clockOffsetMs;
      return { session: s.info.session, clockOffsetMs };
    });
  }

  continuousMove(profileToken: string, velocity: PtzVelocity, opts: OnvifRequestOptions & { timeoutS?: number }): Promise<void> {
    return this.soap('ContinuousMove', opts, async (s) => {
      const params = { ProfileToken: xmlText(profileToken), Velocity: { x: velocity.pan, y: velocity.tilt, z: velocity.zoom } };
      await ptzService(s, profileToken).continuousMove(opts.timeoutS === undefined ? params : { ...params, Timeout: opts.timeoutS });
    });
  }

  stopMove(profileToken: string, opts: OnvifRequestOptions): Promise<void> {
    return this.soap('Stop', opts, async (s) => {
      await ptzService(s, profileToken).stop({ ProfileToken: xmlText(profileToken), PanTilt: true, Zoom: true });
    });
  }

  presets(profileToken: string, opts: OnvifRequestOptions): Promise<OnvifPreset[]> {
    return this.soap('GetPresets', opts, async (s) => {
      const reply = await ptzService(s, profileToken).getPresets({ ProfileToken: xmlText(profileToken) });
      return readPresets(reply.data);
    });
  }

  gotoPreset(profileToken: string, presetToken: string, opts: OnvifRequestOptions): Promise<void> {
    return this.soap('GotoPreset', opts, async (s) => {
      await ptzService(s, profileToken).gotoPreset({ ProfileToken: xmlText(profileToken), PresetToken: xmlText(presetToken) });
    });
  }

  snapshot(profileToken: string, opts: OnvifRequestOptions): Promise<OnvifSnapshot> {
    if (this.session === null) return Promise.reject(this.offline('snapshot'));
    return this.imageQueue.run(async (revoked) => {
      const s = this.session;
      if (s === null) throw this.offline('snapshot');
      const uri = s.snapshotUris.get(profileToken);
      if (uri === undefined || uri === '') {
        throw new OnvifError('not_supported', 'device_error', `camera ${this.name} gave no snapshot URI for profile ${profileToken}`, { notApplied: true });
      }
      const label = `snapshot ${withoutCredentials(uri, this.secrets())}`;
      const url = URL.canParse(uri) ? new URL(uri) : undefined;
      if (url === undefined || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
        throw new OnvifError('bad_reply', 'device_error', `${label}: the camera's snapshot URI is not an http(s) URL`, { notApplied: true });
      }
      const { signal, done } = this.deadline(label, opts, revoked);
      try {
        const reply = await httpExchange({
          url,
          method: 'GET',
          headers: { accept: 'image/jpeg' },
          maxBytes: this.cfg.maxImageBytes,
          signal,
          agents: this.requireAgents(),
          credentials: this.credentials,
          label,
        });
        return checkImage(reply, label);
      } finally {
        done();
      }
    }, opts);
  }

  listenEvents(opts: ListenOptions, listener: NoticeListener, timing: Partial<OnvifEventTiming> = {}): OnvifEventHandle {
    const subscription = new OnvifEventSubscription(this.eventHost(), opts, listener, { ...DEFAULT_EVENT_TIMING, ...timing });
    subscription.start();
    return { topics: () => subscription.topics, stop: () => subscription.stop() };
  }

  /** What an event subscription uses of this camera: its session, credentials, limits and HTTP agents, beside the SOAP queue. */
  private eventHost(): EventHost {
    return {
      name: this.name,
      log: this.log,
      backoff: this.cfg.backoff,
      timeoutMs: this.cfg.timeoutMs,
      session: () => {
        const s = this.session;
        return s === null ? undefined : { session: s.info.session, eventsXaddr: s.eventsXaddr, clockOffsetMs: s.device.time_diff };
      },
      security: (clockOffsetMs) => (this.credentials === undefined ? undefined : { ...this.credentials, clockOffsetMs }),
      post: async (url, envelope, signal, label) => {
        const target = URL.canParse(url) ? new URL(url) : undefined;
        if (target === undefined || (target.protocol !== 'http:' && target.protocol !== 'https:')) {
          throw new OnvifError('bad_reply', 'device_error', `${label}: the camera's event address is not an http(s) URL`, { notApplied: true });
        }
        const reply = await httpExchange({
          url: target,
          method: 'POST',
          headers: { 'content-type': 'application/soap+xml; charset=utf-8' },
          body: Buffer.from(envelope, 'utf8'),
          maxBytes: this.cfg.maxBodyBytes,
          signal,
          agents: this.requireEventAgents(),
          credentials: this.credentials,
          label,
        });
        return { status: reply.status, body: reply.body.toString('utf8') };
      },
      watch: (up, down) => {
        this.on('up', up);
        this.on('down', down);
        return () => {
          this.off('up', up);
          this.off('down', down);
        };
      },
    };
  }

  /** A SOAP operation on the current session, in turn; a session-ending failure ends the session. */
  private soap<T>(operation: string, opts: OnvifRequestOptions, fn: (s: Session) => Promise<T>): Promise<T> {
    if (this.session === null) return Promise.reject(this.offline(operation));
    return this.soapQueue.run(async (revoked) => {
      const s = this.session;
      if (s === null) throw this.offline(operation);
      const { signal, done } = this.deadline(`${operation} on camera ${this.name}`, opts, revoked);
      const scope = this.scope(signal);
      try {
        return await raceRevoked(inSoapScope(scope, () => fn(s)), signal);
      } catch (err) {
        if (opts.signal?.aborted) {
          // The caller gave up (its command timed out): says nothing about the session.
          throw new OnvifError('timeout', 'timeout', `${operation} on camera ${this.name} abandoned by its caller`, { cause: err });
        }
        const error = err instanceof OnvifError ? err : (scope.failures.at(-1)?.error ?? asError(err, operation));
        if (SESSION_ENDING.has(error.reason) && this.session === s) this.lost(error);
        throw error;
      } finally {
        done();
      }
    }, opts);
  }

  private scope(signal: AbortSignal, keepReplies = false): SoapScope {
    const scope: SoapScope = { signal, maxBodyBytes: this.cfg.maxBodyBytes, agents: this.requireAgents(), credentials: this.credentials, failures: [] };
    if (keepReplies) scope.replies = new Map();
    return scope;
  }

  /** Values no URI may show, whatever the query parameter carrying them is called. */
  private secrets(): string[] {
    return this.cfg.password === '' ? [] : [this.cfg.password];
  }

  private requireEventAgents(): HttpAgents {
    if (this.eventAgents === null) throw this.offline('event request');
    return this.eventAgents;
  }

  private requireAgents(): HttpAgents {
    if (this.agents === null) throw this.offline('request');
    return this.agents;
  }

  /**
   * A signal that aborts at the request's timeout, when the turn is revoked, the caller gives up or
   * the transport stops. Built by hand rather than with AbortSignal.any: listeners on the
   * long-lived lifetime signal are removed by done(), not left to the garbage collector.
   */
  private deadline(label: string, opts: OnvifRequestOptions, revoked?: AbortSignal): { signal: AbortSignal; done(): void } {
    const timeoutMs = opts.timeoutMs ?? this.cfg.timeoutMs;
    const controller = new AbortController();
    const sources = [this.lifetime.signal, revoked, opts.signal].filter((s): s is AbortSignal => s !== undefined);
    const onAbort = (event: Event): void => controller.abort((event.target as AbortSignal).reason);
    for (const source of sources) {
      if (source.aborted) controller.abort(source.reason);
      else source.addEventListener('abort', onAbort, { once: true });
    }
    const timer = setTimeout(() => controller.abort(new OnvifError('timeout', 'timeout', `${label}: no complete reply within ${timeoutMs} ms`)), timeoutMs);
    return {
      signal: controller.signal,
      done: () => {
        clearTimeout(timer);
        for (const source of sources) source.removeEventListener('abort', onAbort);
      },
    };
  }

  private offline(operation: string): OnvifError {
    const why = this.lastError === undefined ? 'not initialised yet' : `not initialised (${this.lastError.message})`;
    return new OnvifError('unreachable', 'offline', `camera ${this.name} is ${why}; ${operation} not sent`, { notApplied: true });
  }

  private async connect(): Promise<void> {
    const { signal, done } = this.deadline(`init of camera ${this.name}`, { priority: 'command', timeoutMs: this.cfg.initTimeoutMs });
    const scope = this.scope(signal, true);
    let session: Session;
    try {
      const device = new (nodeOnvif().OnvifDevice)({ xaddr: this.cfg.xaddr, user: this.cfg.user, pass: this.cfg.password });
      await raceRevoked(inSoapScope(scope, () => device.init()), signal);
      if (scope.fatal !== undefined) throw scope.fatal;
      session = this.describe(device, scope);
    } catch (err) {
      this.connectFailed(initError(err, scope));
      return;
    } finally {
      done();
    }
    if (!this.reconnect.running) return;
    this.session = session;
    this.lastError = undefined;
    const { info } = session;
    this.reconnect.up({ camera: this.name, model: info.model, firmware: info.firmware, profiles: info.profiles.length, clock_offset_ms: info.clockOffsetMs });
    this.emit('up');
  }

  private describe(device: OnvifDevice, scope: SoapScope): Session {
    const information = device.getInformation() ?? {};
    const ptzProfiles = profilesWithPtz(scope.replies?.get('GetProfiles')?.data);
    const hasPtz = device.services.ptz !== null;
    const snapshotUris = new Map<string, string>();
    const profiles: OnvifProfile[] = device.getProfileList().map((p) => {
      snapshotUris.set(String(p.token), typeof p.snapshot === 'string' ? p.snapshot : '');
      const stream = p.stream.rtsp || p.stream.udp || p.stream.http;
      return {
        token: String(p.token),
        name: text(p.name),
        ptz: hasPtz && ptzProfiles.has(String(p.token)),
        streamUri: withoutCredentials(typeof stream === 'string' ? stream : '', this.secrets()),
        snapshotUri: withoutCredentials(typeof p.snapshot === 'string' ? p.snapshot : '', this.secrets()),
      };
    });
    if (profiles.length === 0) throw new OnvifError('bad_reply', 'device_error', `camera ${this.name} has no media profiles`);
    const clockFailure = scope.failures.find((f) => f.method === 'GetSystemDateAndTime');
    if (clockFailure !== undefined) {
      this.log.warn({ camera: this.name, err: clockFailure.error.message }, 'camera would not tell its time; its clock is assumed to match ours');
    }
    this.sessions += 1;
    const info: OnvifCameraInfo = {
      manufacturer: text(information.Manufacturer),
      model: text(information.Model),
      firmware: text(information.FirmwareVersion),
      serialNumber: text(information.SerialNumber),
      hardwareId: text(information.HardwareId),
      profiles,
      clockOffsetMs: device.time_diff,
      session: this.sessions,
    };
    const events = device.services.events as { xaddr?: unknown } | null;
    return { device, info, snapshotUris, eventsXaddr: typeof events?.xaddr === 'string' ? events.xaddr : '' };
  }

  private connectFailed(err: OnvifError): void {
    this.lastError = err;
    this.reconnect.failed({ camera: this.name, reason: err.reason, err: err.message });
  }

  private lost(err: OnvifError): void {
    this.session = null;
    this.lastError = err;
    const gone = new OnvifError('unreachable', 'offline', `camera ${this.name} session ended (${err.message})`, { notApplied: true });
    this.soapQueue.clear(gone);
    this.imageQueue.clear(gone);
    this.reconnect.lost({ camera: this.name, reason: err.reason, err: err.message }, () => this.emit('down'));
  }
}

/** The PTZ service, if the camera has one and the profile a PTZ configuration. */
function ptzService(s: Session, profileToken: string) {
  const profile = s.info.profiles.find((p) => p.token === profileToken);
  const ptz = s.device.services.ptz;
  if (ptz === null || profile === undefined || !profile.ptz) {
    throw new OnvifError('not_supported', 'device_error', `profile ${profileToken} of this camera has no PTZ`, { notApplied: true });
  }
  return ptz;
}

/**
 * Tokens of the profiles with a PTZConfiguration (media.wsdl GetProfilesResponse, tt:Profile).
 * node-onvif keeps only the configuration's limits, which are optional, so the reply decides.
 */
function profilesWithPtz(body: Record<string, unknown> | undefined): Set<string> {
  const response = body?.GetProfilesResponse;
  const raw = isRecord(response) ? response.Profiles : undefined;
  const list: unknown[] = raw === undefined ? [] : Array.isArray(raw) ? raw : [raw];
  const tokens = new Set<string>();
  for (const p of list) {
    if (isRecord(p) && isRecord(p.$) && typeof p.$.token === 'string' && p.PTZConfiguration !== undefined) tokens.add(p.$.token);
  }
  return tokens;
}

/** GetPresetsResponse (ptz.wsdl): Preset elements with a token attribute and a Name. */
function readPresets(body: Record<string, unknown>): OnvifPreset[] {
  const response = body.GetPresetsResponse;
  if (!isRecord(response)) return [];
  const raw = response.Preset;
  const list = raw === undefined ? [] : Array.isArray(raw) ? raw : [raw];
  return list.flatMap((p: unknown) => {
    if (!isRecord(p) || !isRecord(p.$) || typeof p.$.token !== 'string') return [];
    return [{ token: p.$.token, name: text(p.Name) }];
  });
}

function checkImage(reply: { status: number; statusText: string; contentType: string; body: Buffer; auth: OnvifSnapshot['auth'] }, label: string): OnvifSnapshot {
  if (reply.status === 401 || reply.status === 403) {
    const tried = reply.auth === 'none' ? 'no credentials' : `HTTP ${reply.auth} authentication`;
    throw new OnvifError('not_authorized', 'device_error', `${label}: HTTP ${reply.status} ${reply.statusText} with ${tried}`, { notApplied: true });
  }
  if (reply.status !== 200) throw new OnvifError('http_status', 'device_error', `${label}: HTTP ${reply.status} ${reply.statusText}`);
  // Some cameras send no content type; the JPEG start-of-image marker (FF D8) decides then.
  const contentType = reply.contentType.split(';')[0].trim().toLowerCase() || 'image/jpeg';
  if (!contentType.startsWith('image/')) throw new OnvifError('bad_reply', 'device_error', `${label}: expected an image, got ${contentType}`);
  if (contentType === 'image/jpeg' && !(reply.body[0] === 0xff && reply.body[1] === 0xd8)) {
    throw new OnvifError('bad_reply', 'device_error', `${label}: not a JPEG (${reply.body.length} bytes without a start-of-image marker)`);
  }
  return { bytes: reply.body, contentType, takenAt: Date.now(), auth: reply.auth };
}

/** node-onvif interpolates tokens into XML unescaped and refuses `<` and `>`; `&` is escaped here. */
function xmlText(value: string): string {
  return value.replace(/&/g, '&amp;');
}

function asError(err: unknown, operation: string): OnvifError {
  if (err instanceof OnvifError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new OnvifError('bad_reply', 'device_error', `${operation}: ${message}`, { cause: err });
}

/**
 * node-onvif's init rewraps failures as `new Error('Failed to initialize the device: ' + error)`,
 * losing their type; the request layer recorded the typed one. Failures init skipped (a stream
 * protocol the camera does not offer) are not the cause unless their message is in the final one.
 */
function initError(err: unknown, scope: SoapScope): OnvifError {
  if (scope.fatal !== undefined) return scope.fatal;
  if (err instanceof OnvifError) return err;
  const message = err instanceof Error ? err.message : String(err);
  const cause = [...scope.failures].reverse().find((f) => message.includes(f.error.message));
  if (cause !== undefined) return cause.error;
  return new OnvifError('bad_reply', 'device_error', `init: ${message}`, { cause: err });
}

let onvifPackage: typeof onvifModule | undefined;

/** node-onvif, required on a camera's first connect rather than on import: sites without cameras never load it. */
function nodeOnvif(): typeof onvifModule {
  onvifPackage ??= createRequire(import.meta.url)('node-onvif') as typeof onvifModule;
  return onvifPackage;
}
