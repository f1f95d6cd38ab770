// An ONVIF camera as its transport offers it to a driver: its own access type and errors, beside
// the transport that implements them (camera.ts), out of the general driver interface.
import { DeviceError, type DeviceErrorCode, type ListenOptions, type NoticeListener, type RequestOptions, type TransportAccess } from '../../driver-api.js';

export interface OnvifRequestOptions extends RequestOptions {
  /** Overrides the transport's per-request timeout. */
  timeoutMs?: number;
}

/** A pan/tilt/zoom velocity in the ONVIF generic continuous velocity space, each -1..1. */
export interface PtzVelocity {
  pan: number;
  tilt: number;
  zoom: number;
}

/** One media profile of a camera (ONVIF Media, GetProfiles). URIs never carry credentials. */
export interface OnvifProfile {
  token: string;
  name: string;
  /** The profile has a PTZ configuration and the camera a PTZ service. */
  ptz: boolean;
  /** RTSP (else UDP, else HTTP) stream URI; '' when the camera gave none. */
  streamUri: string;
  /** '' when the camera gave none. */
  snapshotUri: string;
}

/** What a camera said about itself when the transport last initialised its session. */
export interface OnvifCameraInfo {
  manufacturer: string;
  model: string;
  firmware: string;
  serialNumber: string;
  hardwareId: string;
  profiles: OnvifProfile[];
  /** Camera clock minus ours, as measured with GetSystemDateAndTime; 0 when the camera would not say. */
  clockOffsetMs: number;
  /** Counts (re)initialisations; changes whenever the camera was set up afresh. */
  session: number;
}

export interface OnvifPreset {
  token: string;
  name: string;
}

export interface OnvifSnapshot {
  bytes: Buffer;
  contentType: string;
  /** Epoch ms when the reply arrived. */
  takenAt: number;
  /** The HTTP authentication the camera asked for. */
  auth: 'none' | 'basic' | 'digest';
}

/**
 * An ONVIF camera as a transport offers it: the session (init, clock offset, reconnect with
 * backoff) is the transport's; SOAP requests go one at a time (commands ahead of polls), snapshot
 * downloads one at a time beside them. Failures are OnvifError. Requests while the session is not
 * up reject at once with OnvifError('unreachable', 'offline', notApplied).
 */
export interface OnvifAccess extends TransportAccess {
  readonly kind: 'onvif';
  readonly name: string;
  /** The current session's facts (no I/O); undefined while the camera is not initialised. */
  info(): OnvifCameraInfo | undefined;
  /** A cheap liveness check (GetSystemDateAndTime, which needs no credentials). */
  probe(opts: OnvifRequestOptions): Promise<{ session: number; clockOffsetMs: number }>;
  /** Fetches the JPEG at the profile's snapshot URI (HTTP Basic or Digest as the camera asks). */
  snapshot(profileToken: string, opts: OnvifRequestOptions): Promise<OnvifSnapshot>;
  /** PTZ ContinuousMove; the camera stops by itself after `timeoutS` seconds if no Stop comes. */
  continuousMove(profileToken: string, velocity: PtzVelocity, opts: OnvifRequestOptions & { timeoutS?: number }): Promise<void>;
  /** PTZ Stop of pan/tilt and zoom. */
  stopMove(profileToken: string, opts: OnvifRequestOptions): Promise<void>;
  presets(profileToken: string, opts: OnvifRequestOptions): Promise<OnvifPreset[]>;
  gotoPreset(profileToken: string, presetToken: string, opts: OnvifRequestOptions): Promise<void>;
  /**
   * Follows the camera's event service (pull point, renewed, made again after failures and camera
   * restarts) until the handle is stopped, which unsubscribes. `timing` is for tests.
   */
  listenEvents(opts: ListenOptions, listener: NoticeListener, timing?: Partial<OnvifEventTiming>): OnvifEventHandle;
}

/** InitialTerminationTime asked for (and each Renew's), and a long poll's Timeout, in seconds. */
export interface OnvifEventTiming {
  subscriptionS: number;
  pullTimeoutS: number;
}

export interface OnvifEventHandle {
  /** The topics the camera said it can report (GetEventProperties), once read. */
  topics(): readonly string[];
  stop(): Promise<void>;
}

/** Why an ONVIF request failed: stable, and the first word of the error's message. */
export type OnvifErrorReason =
  /** No HTTP exchange: connection refused or reset, no route, name not found, closed mid-reply. */
  | 'unreachable'
  /** No complete reply within the timeout. */
  | 'timeout'
  /** The camera refused the credentials (WS-Security UsernameToken or HTTP auth), or the clock offset. */
  | 'not_authorized'
  /** The camera answered with a SOAP fault. */
  | 'soap_fault'
  /** Not XML, not a SOAP envelope, or not the expected response. */
  | 'bad_reply'
  /** A reply longer than the configured limit. */
  | 'body_too_large'
  /** An HTTP status with no SOAP fault to explain it. */
  | 'http_status'
  /** The camera or the profile lacks it (no PTZ, no snapshot URI). */
  | 'not_supported'
  | 'unknown_preset'
  | 'unknown_profile';

/** A DeviceError from an ONVIF camera, with the finer `reason`; the message starts with the reason. */
export class OnvifError extends DeviceError {
  /** The SOAP fault's innermost subcode (e.g. `ter:NoProfile`), when the camera sent a fault. */
  readonly faultSubcode: string | undefined;

  constructor(
    readonly reason: OnvifErrorReason,
    code: DeviceErrorCode,
    message: string,
    options?: { cause?: unknown; notApplied?: boolean; faultSubcode?: string },
  ) {
    super(code, `${reason}: ${message}`, options);
    this.name = 'OnvifError';
    this.faultSubcode = options?.faultSubcode;
  }
}
