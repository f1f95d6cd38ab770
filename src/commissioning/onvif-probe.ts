// An ONVIF camera that is not configured yet, seen through the gateway's own camera transport
// (src/transport/onvif/: its init, WS-Security and Digest, clock offset, limits): what it is, its
// media profiles with their snapshot URIs (credentials removed), PTZ and presets, and the event
// topics it offers.
import type { ConfigIssue, DriverLogger } from '../driver-api.js';
import { OnvifError, type OnvifAccess, type OnvifPreset } from '../transport/onvif/access.js';
import { onvif, type OnvifTransportConfig } from '../transport/onvif/definition.js';
import { readEventProperties, type EventProperties } from './onvif-event-properties.js';

export interface OnvifProbeOptions {
  xaddr: string;
  user: string;
  password: string;
  timeoutMs: number;
}

export interface OnvifProbeReport {
  /** The device service address, without credentials. */
  xaddr: string;
  device: { manufacturer: string; model: string; firmware: string; serialNumber: string; hardwareId: string };
  /** Camera clock minus ours, ms. */
  clockOffsetMs: number;
  profiles: { token: string; name: string; streamUri: string; snapshotUri: string; ptz: boolean; presets?: OnvifPreset[]; presetsError?: string }[];
  ptz: boolean;
  events: EventProperties | { service: 'error'; reason: string };
}

/** The camera could not be set up: unreachable, credentials refused, not ONVIF. */
export class OnvifProbeError extends Error {}

/** The transport config a site file would hold for this camera, checked by the transport's own parse. */
export function onvifTarget(opts: OnvifProbeOptions): { target?: OnvifTransportConfig; problems: string[] } {
  const issues: ConfigIssue[] = [];
  const entry: Record<string, unknown> = {
    type: 'onvif',
    xaddr: opts.xaddr,
    timeout_ms: opts.timeoutMs,
    // The init is several requests; each gets the timeout.
    init_timeout_ms: Math.max(1000, opts.timeoutMs * 8),
    backoff: { initial_ms: 60_000, max_ms: 60_000 },
  };
  if (opts.user !== '') entry.user = opts.user;
  if (opts.password !== '') entry.password = opts.password;
  const target = onvif.parse(entry, 'camera', issues);
  const names: Record<string, string> = { 'camera.xaddr': 'the address', 'camera.user': '--user', 'camera.password': '--password', 'camera.timeout_ms': '--timeout', 'camera.init_timeout_ms': '--timeout' };
  const problems = issues.map((i) => `${names[i.path] ?? i.path}: ${i.message}`);
  return problems.length > 0 ? { problems } : { target, problems };
}

class FirstFailure implements DriverLogger {
  onFailure: (() => void) | undefined;
  debug(): void {}
  info(): void {}
  error(): void {}
  warn(): void {
    this.onFailure?.();
  }
}

export async function probeOnvifCamera(target: OnvifTransportConfig): Promise<OnvifProbeReport> {
  const log = new FirstFailure();
  const transport = onvif.create('probe', target, log);
  const camera = transport.access as OnvifAccess & { lastError?: OnvifError };
  const where = onvif.describe(target);
  const up = new Promise<void>((resolve, reject) => {
    transport.on('up', () => resolve());
    log.onFailure = () => reject(new OnvifProbeError(`camera at ${where} could not be set up: ${camera.lastError?.message ?? 'no reason given'}`));
  });
  await transport.start();
  try {
    await up;
    const info = camera.info();
    if (info === undefined) throw new OnvifProbeError(`camera at ${where} went away during the probe`);
    const profiles: OnvifProbeReport['profiles'] = [];
    for (const p of info.profiles) {
      const profile: OnvifProbeReport['profiles'][number] = { token: p.token, name: p.name, streamUri: p.streamUri, snapshotUri: p.snapshotUri, ptz: p.ptz };
      if (p.ptz) {
        try {
          profile.presets = await camera.presets(p.token, { priority: 'command' });
        } catch (err) {
          profile.presetsError = (err as Error).message;
        }
      }
      profiles.push(profile);
    }
    let events: OnvifProbeReport['events'];
    try {
      events = await readEventProperties({ xaddr: target.xaddr, user: target.user, password: target.password, clockOffsetMs: info.clockOffsetMs, timeoutMs: target.timeout_ms, maxBodyBytes: target.max_body_bytes });
    } catch (err) {
      events = { service: 'error', reason: (err as Error).message };
    }
    const { manufacturer, model, firmware, serialNumber, hardwareId } = info;
    return { xaddr: where, device: { manufacturer, model, firmware, serialNumber, hardwareId }, clockOffsetMs: info.clockOffsetMs, profiles, ptz: profiles.some((p) => p.ptz), events };
  } finally {
    await transport.stop();
  }
}
