// A camera on an ONVIF transport. read() is the availability probe; actions run on the configured
// media profile: info (no I/O), snapshot, ptz (ContinuousMove), stop, preset (by token or name).
// listen() follows the camera's event service for the camera kind's events.
import { DeviceError, type ActionOutcome, type DriverContext, type DriverInstance, type ListenOptions, type NoticeListener, type Readings, type RequestOptions, isAccessOf } from '../../src/driver-api.js';
import { OnvifError, type OnvifAccess, type OnvifPreset, type OnvifProfile } from '../../src/transport/onvif/access.js';
import type { OnvifOptions } from './options.js';

export const CAMERA_ACTIONS = ['info', 'snapshot', 'ptz', 'stop', 'preset'] as const;

/** Seconds the camera keeps moving on its own if our Stop never arrives, beyond the move asked for. */
const PTZ_SAFETY_MARGIN_S = 1;

type Args = Readonly<Record<string, string | number>>;

export class OnvifDriverInstance implements DriverInstance {
  readonly outputs: readonly string[] = [];
  readonly inputs: readonly string[] = [];
  private readonly camera: OnvifAccess;

  constructor(private readonly ctx: DriverContext<OnvifOptions>) {
    const transport = ctx.transport;
    if (!isAccessOf<OnvifAccess>(transport, 'onvif')) {
      throw new Error(`device ${ctx.deviceId}: the onvif driver needs an onvif transport, got ${transport.kind}`);
    }
    this.camera = transport;
  }

  /** Readings for the camera behaviour: the session (it changes when the camera was set up afresh) and the clock offset. */
  async read(opts: RequestOptions): Promise<Readings> {
    const { session, clockOffsetMs } = await this.camera.probe(opts);
    this.profile(); // a configured profile the camera does not have keeps the device offline, with the reason logged
    return { session, clock_offset_ms: clockOffsetMs };
  }

  /** The camera's events (its event service, through the transport) until the returned function is called. */
  listen(opts: ListenOptions, listener: NoticeListener): () => Promise<void> {
    const handle = this.camera.listenEvents(opts, listener);
    return () => handle.stop();
  }

  async write(output: string): Promise<void> {
    throw new DeviceError('device_error', `a camera has no outputs (asked to write ${output})`, { notApplied: true });
  }

  async perform(action: string, args: Args, opts: RequestOptions): Promise<ActionOutcome> {
    switch (action) {
      case 'info':
        return { data: this.describe() };
      case 'snapshot':
        return this.snapshot(opts);
      case 'ptz':
        return this.ptz(args, opts);
      case 'stop':
        await this.camera.stopMove(this.profile().token, opts);
        return { data: {} };
      case 'preset':
        return this.preset(args, opts);
      default:
        throw new DeviceError('device_error', `the onvif driver has no action ${action} (actions: ${CAMERA_ACTIONS.join(', ')})`, { notApplied: true });
    }
  }

  /** What the camera is, for the device state. URIs come without credentials from the transport. */
  private describe(): Record<string, unknown> {
    const info = this.camera.info();
    if (info === undefined) throw notReady(this.camera.name);
    const profile = this.profile();
    return {
      manufacturer: info.manufacturer,
      model: info.model,
      firmware: info.firmware,
      serial_number: info.serialNumber,
      hardware_id: info.hardwareId,
      profile: { token: profile.token, name: profile.name },
      ptz: profile.ptz,
      stream_uri: profile.streamUri,
      snapshot_uri: profile.snapshotUri,
      clock_offset_ms: info.clockOffsetMs,
      session: info.session,
    };
  }

  private async snapshot(opts: RequestOptions): Promise<ActionOutcome> {
    const shot = await this.camera.snapshot(this.profile().token, opts);
    return {
      data: { content_type: shot.contentType, bytes: shot.bytes.length, taken_at: shot.takenAt },
      image: { bytes: shot.bytes, contentType: shot.contentType, at: shot.takenAt },
    };
  }

  private async ptz(args: Args, opts: RequestOptions): Promise<ActionOutcome> {
    const velocity = { pan: axis(args, 'pan'), tilt: axis(args, 'tilt'), zoom: axis(args, 'zoom') };
    const durationMs = args.duration_ms;
    if (typeof durationMs !== 'number' || !Number.isInteger(durationMs) || durationMs <= 0) {
      throw new DeviceError('device_error', `ptz needs duration_ms, a positive integer; got ${JSON.stringify(durationMs)}`, { notApplied: true });
    }
    // node-onvif sends Timeout as whole seconds (PTnS): round up, plus a margin, so our Stop comes first.
    const timeoutS = Math.ceil(durationMs / 1000) + PTZ_SAFETY_MARGIN_S;
    await this.camera.continuousMove(this.profile().token, velocity, { ...opts, timeoutS });
    return { data: { ...velocity, duration_ms: durationMs } };
  }

  private async preset(args: Args, opts: RequestOptions): Promise<ActionOutcome> {
    const wanted = args.preset;
    if (typeof wanted !== 'string' || wanted === '') {
      throw new DeviceError('device_error', `preset needs a preset token or name; got ${JSON.stringify(wanted)}`, { notApplied: true });
    }
    const profile = this.profile();
    const presets = await this.camera.presets(profile.token, opts);
    const preset = findPreset(presets, wanted);
    if (Array.isArray(preset)) {
      const tokens = preset.map((p) => p.token).join(', ');
      throw new OnvifError('unknown_preset', 'device_error', `camera has several presets named ${JSON.stringify(wanted)} on profile ${profile.token} (tokens ${tokens}); give the token`, { notApplied: true });
    }
    if (preset === undefined) {
      const known = presets.map((p) => (p.name && p.name !== p.token ? `${p.name} (${p.token})` : p.token)).join(', ') || 'none';
      throw new OnvifError('unknown_preset', 'device_error', `camera has no preset ${JSON.stringify(wanted)} on profile ${profile.token}; presets: ${known}`, { notApplied: true });
    }
    await this.camera.gotoPreset(profile.token, preset.token, opts);
    return { data: { preset: { token: preset.token, name: preset.name } } };
  }

  /** The configured profile (by token, then by name), or the camera's first. */
  private profile(): OnvifProfile {
    const info = this.camera.info();
    if (info === undefined) throw notReady(this.camera.name);
    const wanted = this.ctx.options.profile;
    if (wanted === undefined) return info.profiles[0];
    const profile = info.profiles.find((p) => p.token === wanted) ?? info.profiles.find((p) => p.name === wanted);
    if (profile === undefined) {
      const known = info.profiles.map((p) => `${p.name} (${p.token})`).join(', ');
      throw new OnvifError('unknown_profile', 'device_error', `camera has no media profile ${JSON.stringify(wanted)}; profiles: ${known}`, { notApplied: true });
    }
    return profile;
  }
}

/**
 * By token first, then by name, then by name ignoring case, a name counting only if it names
 * exactly one preset (ONVIF does not make names unique); the presets sharing it otherwise.
 */
function findPreset(presets: readonly OnvifPreset[], wanted: string): OnvifPreset | OnvifPreset[] | undefined {
  const byToken = presets.find((p) => p.token === wanted);
  if (byToken !== undefined) return byToken;
  const named = presets.filter((p) => p.name === wanted);
  const candidates = named.length > 0 ? named : presets.filter((p) => p.name.toLowerCase() === wanted.toLowerCase());
  if (candidates.length === 0) return undefined;
  return candidates.length === 1 ? candidates[0] : candidates;
}

/** One axis of a move: absent is 0; the ONVIF generic velocity space is -1..1. */
function axis(args: Args, name: string): number {
  const value = args[name] ?? 0;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < -1 || value > 1) {
    throw new DeviceError('device_error', `ptz ${name} must be a number from -1 to 1; got ${JSON.stringify(value)}`, { notApplied: true });
  }
  return value;
}

function notReady(name: string): OnvifError {
  return new OnvifError('unreachable', 'offline', `camera ${name} is not initialised`, { notApplied: true });
}
