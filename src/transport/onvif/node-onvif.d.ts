// The parts of node-onvif 0.1.7 (which ships no types) that gatehouse uses. Shapes are as the
// library builds them (lib/modules/device.js, soap.js); xml2js turns elements into strings or
// objects, so parsed replies stay `unknown` here and are checked where they are read.

declare module 'node-onvif' {
  /** What a SOAP request resolves with (soap.js requestCommand). */
  export interface OnvifSoapResult {
    soap: string;
    formatted: string;
    /** The whole envelope as xml2js made it (explicitArray false, namespace prefixes stripped). */
    converted: Record<string, unknown>;
    /** The envelope's Body. */
    data: Record<string, unknown>;
  }

  export interface OnvifProfileRaw {
    token: string;
    name: string;
    snapshot: string;
    stream: { udp: string; http: string; rtsp: string };
    video: { source: unknown; encoder: unknown };
    ptz: { range: unknown };
  }

  export interface OnvifServiceDevice {
    time_diff: number;
    getSystemDateAndTime(): Promise<OnvifSoapResult>;
    getTimeDiff(): number;
  }

  export interface OnvifServicePtz {
    continuousMove(params: { ProfileToken: string; Velocity: { x: number; y: number; z: number }; Timeout?: number }): Promise<OnvifSoapResult>;
    stop(params: { ProfileToken: string; PanTilt?: boolean; Zoom?: boolean }): Promise<OnvifSoapResult>;
    getPresets(params: { ProfileToken: string }): Promise<OnvifSoapResult>;
    gotoPreset(params: { ProfileToken: string; PresetToken: string }): Promise<OnvifSoapResult>;
  }

  export class OnvifDevice {
    /** Throws synchronously on parameters its services refuse (non-ASCII, `<` or `>` in user or pass). */
    constructor(params: { xaddr: string; user?: string; pass?: string });
    /** Camera clock minus ours in ms, set by init() from GetSystemDateAndTime (0 if that failed). */
    time_diff: number;
    services: {
      device: OnvifServiceDevice;
      media: unknown;
      ptz: OnvifServicePtz | null;
      events: unknown;
    };
    /** GetSystemDateAndTime, GetCapabilities, GetDeviceInformation, GetProfiles, GetStreamUri, GetSnapshotUri. */
    init(): Promise<unknown>;
    getInformation(): Record<string, unknown> | null;
    getProfileList(): OnvifProfileRaw[];
  }

  const onvif: { OnvifDevice: typeof OnvifDevice };
  export default onvif;
}

declare module 'node-onvif/lib/modules/soap.js' {
  import type { OnvifSoapResult } from 'node-onvif';

  /** node-onvif's SOAP helper, one object shared by every service of every device. */
  interface OnvifSoap {
    /** Sends a SOAP envelope to a service and parses the reply; the one function gatehouse replaces. */
    requestCommand(oxaddr: import('node:url').UrlWithStringQuery, methodName: string, soap: string): Promise<OnvifSoapResult>;
    /** xml2js with namespace prefixes stripped from tag names, attributes under `$`. */
    parse(xml: string): Promise<Record<string, unknown>>;
  }

  const soap: OnvifSoap;
  export default soap;
}
