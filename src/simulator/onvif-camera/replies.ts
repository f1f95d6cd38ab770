// Part of the simulated ONVIF camera (camera.ts). The camera's replies: SOAP 1.2 envelopes shaped like a real camera's (element order as in
// the ONVIF schema onvif.xsd, response messages as named in devicemgmt.wsdl, media.wsdl and
// ptz.wsdl; the layout follows what Hikvision and Axis firmware send).
import { NS } from './auth.js';

export function xmlEscape(value: string): string {
  return value.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]!);
}

export function envelope(body: string): string {
  return (
    '<?xml version="1.0" encoding="UTF-8"?>\n' +
    `<env:Envelope xmlns:env="${NS.soap}" xmlns:tt="${NS.tt}" xmlns:tds="${NS.tds}" xmlns:trt="${NS.trt}" xmlns:tptz="${NS.tptz}" xmlns:ter="${NS.ter}" xmlns:xs="http://www.w3.org/2001/XMLSchema">` +
    `<env:Body>${body}</env:Body></env:Envelope>\n`
  );
}

export type FaultCode = 'Sender' | 'Receiver' | 'MustUnderstand' | 'VersionMismatch';

/** SOAP 1.2 Part 1 section 5.4: Code/Value, nested Subcode/Value, Reason/Text. */
export function faultEnvelope(code: FaultCode, subcodes: readonly string[], reason: string): string {
  let subcode = '';
  for (const s of [...subcodes].reverse()) subcode = `<env:Subcode><env:Value>${s}</env:Value>${subcode}</env:Subcode>`;
  return envelope(
    `<env:Fault><env:Code><env:Value>env:${code}</env:Value>${subcode}</env:Code>` +
      `<env:Reason><env:Text xml:lang="en">${xmlEscape(reason)}</env:Text></env:Reason></env:Fault>`,
  );
}

/** tt:DateTime is Time then Date. */
function dateTime(d: Date): string {
  return (
    `<tt:Time><tt:Hour>${d.getUTCHours()}</tt:Hour><tt:Minute>${d.getUTCMinutes()}</tt:Minute><tt:Second>${d.getUTCSeconds()}</tt:Second></tt:Time>` +
    `<tt:Date><tt:Year>${d.getUTCFullYear()}</tt:Year><tt:Month>${d.getUTCMonth() + 1}</tt:Month><tt:Day>${d.getUTCDate()}</tt:Day></tt:Date>`
  );
}

/** devicemgmt.wsdl GetSystemDateAndTimeResponse; the camera keeps UTC (TZ GMT0), so local equals UTC. */
export function systemDateAndTime(now: Date): string {
  return envelope(
    '<tds:GetSystemDateAndTimeResponse><tds:SystemDateAndTime>' +
      '<tt:DateTimeType>Manual</tt:DateTimeType><tt:DaylightSavings>false</tt:DaylightSavings>' +
      '<tt:TimeZone><tt:TZ>GMT0</tt:TZ></tt:TimeZone>' +
      `<tt:UTCDateTime>${dateTime(now)}</tt:UTCDateTime>` +
      `<tt:LocalDateTime>${dateTime(now)}</tt:LocalDateTime>` +
      '</tds:SystemDateAndTime></tds:GetSystemDateAndTimeResponse>',
  );
}

export interface ServiceAddresses {
  device: string;
  media: string;
  ptz: string;
  events: string;
}

/** devicemgmt.wsdl GetCapabilitiesResponse for Category All, Device, Media, PTZ or Events. */
export function capabilities(addr: ServiceAddresses, category: string): string {
  const device =
    `<tt:Device><tt:XAddr>${addr.device}</tt:XAddr>` +
    '<tt:Network><tt:IPFilter>false</tt:IPFilter><tt:ZeroConfiguration>false</tt:ZeroConfiguration><tt:IPVersion6>false</tt:IPVersion6><tt:DynDNS>false</tt:DynDNS></tt:Network>' +
    '<tt:System><tt:DiscoveryResolve>false</tt:DiscoveryResolve><tt:DiscoveryBye>true</tt:DiscoveryBye><tt:RemoteDiscovery>false</tt:RemoteDiscovery>' +
    '<tt:SystemBackup>false</tt:SystemBackup><tt:SystemLogging>false</tt:SystemLogging><tt:FirmwareUpgrade>false</tt:FirmwareUpgrade>' +
    '<tt:SupportedVersions><tt:Major>2</tt:Major><tt:Minor>60</tt:Minor></tt:SupportedVersions></tt:System>' +
    '<tt:IO><tt:InputConnectors>0</tt:InputConnectors><tt:RelayOutputs>0</tt:RelayOutputs></tt:IO>' +
    '<tt:Security><tt:TLS1.1>false</tt:TLS1.1><tt:TLS1.2>false</tt:TLS1.2><tt:OnboardKeyGeneration>false</tt:OnboardKeyGeneration>' +
    '<tt:AccessPolicyConfig>false</tt:AccessPolicyConfig><tt:X.509Token>false</tt:X.509Token><tt:SAMLToken>false</tt:SAMLToken>' +
    '<tt:KerberosToken>false</tt:KerberosToken><tt:RELToken>false</tt:RELToken></tt:Security></tt:Device>';
  const events =
    `<tt:Events><tt:XAddr>${addr.events}</tt:XAddr><tt:WSSubscriptionPolicySupport>false</tt:WSSubscriptionPolicySupport>` +
    '<tt:WSPullPointSupport>true</tt:WSPullPointSupport><tt:WSPausableSubscriptionManagerInterfaceSupport>false</tt:WSPausableSubscriptionManagerInterfaceSupport></tt:Events>';
  const media =
    `<tt:Media><tt:XAddr>${addr.media}</tt:XAddr><tt:StreamingCapabilities><tt:RTPMulticast>false</tt:RTPMulticast>` +
    '<tt:RTP_TCP>true</tt:RTP_TCP><tt:RTP_RTSP_TCP>true</tt:RTP_RTSP_TCP></tt:StreamingCapabilities></tt:Media>';
  const ptz = `<tt:PTZ><tt:XAddr>${addr.ptz}</tt:XAddr></tt:PTZ>`;
  const parts: Record<string, string> = { Device: device, Events: events, Media: media, PTZ: ptz };
  // A camera without an event service names none (addr.events '').
  if (addr.events === '') parts.Events = '';
  const body = category === 'All' ? device + parts.Events + media + ptz : parts[category];
  return envelope(`<tds:GetCapabilitiesResponse><tds:Capabilities>${body}</tds:Capabilities></tds:GetCapabilitiesResponse>`);
}

/** devicemgmt.wsdl GetServicesResponse (without capabilities). */
export function services(addr: ServiceAddresses): string {
  const service = (ns: string, xaddr: string, minor: number) =>
    `<tds:Service><tds:Namespace>${ns}</tds:Namespace><tds:XAddr>${xaddr}</tds:XAddr><tds:Version><tt:Major>2</tt:Major><tt:Minor>${minor}</tt:Minor></tds:Version></tds:Service>`;
  return envelope(
    '<tds:GetServicesResponse>' +
      service(NS.tds, addr.device, 60) +
      service(NS.trt, addr.media, 60) +
      service(NS.tptz, addr.ptz, 50) +
      (addr.events === '' ? '' : service('http://www.onvif.org/ver10/events/wsdl', addr.events, 60)) +
      '</tds:GetServicesResponse>',
  );
}

export interface DeviceFacts {
  manufacturer: string;
  model: string;
  firmware: string;
  serialNumber: string;
  hardwareId: string;
}

export function deviceInformation(f: DeviceFacts): string {
  return envelope(
    '<tds:GetDeviceInformationResponse>' +
      `<tds:Manufacturer>${xmlEscape(f.manufacturer)}</tds:Manufacturer><tds:Model>${xmlEscape(f.model)}</tds:Model>` +
      `<tds:FirmwareVersion>${xmlEscape(f.firmware)}</tds:FirmwareVersion><tds:SerialNumber>${xmlEscape(f.serialNumber)}</tds:SerialNumber>` +
      `<tds:HardwareId>${xmlEscape(f.hardwareId)}</tds:HardwareId></tds:GetDeviceInformationResponse>`,
  );
}

export interface CameraProfile {
  token: string;
  name: string;
  width: number;
  height: number;
  bitrateKbps: number;
  ptz: boolean;
}

const SPACES = 'http://www.onvif.org/ver10/tptz';

/** tt:PTZConfiguration; "DefaultAbsolutePantTiltPositionSpace" is spelt as in onvif.xsd. */
function ptzConfiguration(): string {
  return (
    '<tt:PTZConfiguration token="PTZToken"><tt:Name>PTZ</tt:Name><tt:UseCount>1</tt:UseCount><tt:NodeToken>PTZNODETOKEN</tt:NodeToken>' +
    `<tt:DefaultAbsolutePantTiltPositionSpace>${SPACES}/PanTiltSpaces/PositionGenericSpace</tt:DefaultAbsolutePantTiltPositionSpace>` +
    `<tt:DefaultAbsoluteZoomPositionSpace>${SPACES}/ZoomSpaces/PositionGenericSpace</tt:DefaultAbsoluteZoomPositionSpace>` +
    `<tt:DefaultRelativePanTiltTranslationSpace>${SPACES}/PanTiltSpaces/TranslationGenericSpace</tt:DefaultRelativePanTiltTranslationSpace>` +
    `<tt:DefaultRelativeZoomTranslationSpace>${SPACES}/ZoomSpaces/TranslationGenericSpace</tt:DefaultRelativeZoomTranslationSpace>` +
    `<tt:DefaultContinuousPanTiltVelocitySpace>${SPACES}/PanTiltSpaces/VelocityGenericSpace</tt:DefaultContinuousPanTiltVelocitySpace>` +
    `<tt:DefaultContinuousZoomVelocitySpace>${SPACES}/ZoomSpaces/VelocityGenericSpace</tt:DefaultContinuousZoomVelocitySpace>` +
    `<tt:DefaultPTZSpeed><tt:PanTilt x="0.1" y="0.1" space="${SPACES}/PanTiltSpaces/GenericSpeedSpace"/><tt:Zoom x="1" space="${SPACES}/ZoomSpaces/ZoomGenericSpeedSpace"/></tt:DefaultPTZSpeed>` +
    '<tt:DefaultPTZTimeout>PT5S</tt:DefaultPTZTimeout>' +
    `<tt:PanTiltLimits><tt:Range><tt:URI>${SPACES}/PanTiltSpaces/PositionGenericSpace</tt:URI><tt:XRange><tt:Min>-1</tt:Min><tt:Max>1</tt:Max></tt:XRange><tt:YRange><tt:Min>-1</tt:Min><tt:Max>1</tt:Max></tt:YRange></tt:Range></tt:PanTiltLimits>` +
    `<tt:ZoomLimits><tt:Range><tt:URI>${SPACES}/ZoomSpaces/PositionGenericSpace</tt:URI><tt:XRange><tt:Min>0</tt:Min><tt:Max>1</tt:Max></tt:XRange></tt:Range></tt:ZoomLimits>` +
    '</tt:PTZConfiguration>'
  );
}

/** tt:Profile: Name, VideoSourceConfiguration, VideoEncoderConfiguration, PTZConfiguration, in schema order. */
function profile(p: CameraProfile, index: number): string {
  return (
    `<trt:Profiles token="${xmlEscape(p.token)}" fixed="true"><tt:Name>${xmlEscape(p.name)}</tt:Name>` +
    '<tt:VideoSourceConfiguration token="VideoSourceToken"><tt:Name>VideoSourceConfig</tt:Name><tt:UseCount>2</tt:UseCount>' +
    '<tt:SourceToken>VideoSource_1</tt:SourceToken><tt:Bounds x="0" y="0" width="1920" height="1080"></tt:Bounds></tt:VideoSourceConfiguration>' +
    `<tt:VideoEncoderConfiguration token="VideoEncoderToken_${index + 1}"><tt:Name>VideoEncoder_${index + 1}</tt:Name><tt:UseCount>1</tt:UseCount>` +
    `<tt:Encoding>H264</tt:Encoding><tt:Resolution><tt:Width>${p.width}</tt:Width><tt:Height>${p.height}</tt:Height></tt:Resolution>` +
    '<tt:Quality>3.000000</tt:Quality>' +
    `<tt:RateControl><tt:FrameRateLimit>25</tt:FrameRateLimit><tt:EncodingInterval>1</tt:EncodingInterval><tt:BitrateLimit>${p.bitrateKbps}</tt:BitrateLimit></tt:RateControl>` +
    '<tt:H264><tt:GovLength>50</tt:GovLength><tt:H264Profile>Main</tt:H264Profile></tt:H264>' +
    '<tt:Multicast><tt:Address><tt:Type>IPv4</tt:Type><tt:IPv4Address>0.0.0.0</tt:IPv4Address></tt:Address><tt:Port>0</tt:Port><tt:TTL>1</tt:TTL><tt:AutoStart>false</tt:AutoStart></tt:Multicast>' +
    '<tt:SessionTimeout>PT5S</tt:SessionTimeout></tt:VideoEncoderConfiguration>' +
    (p.ptz ? ptzConfiguration() : '') +
    '</trt:Profiles>'
  );
}

export function profilesResponse(list: readonly CameraProfile[]): string {
  return envelope(`<trt:GetProfilesResponse>${list.map(profile).join('')}</trt:GetProfilesResponse>`);
}

/** tt:MediaUri in GetStreamUriResponse or GetSnapshotUriResponse. */
export function mediaUriResponse(operation: 'GetStreamUri' | 'GetSnapshotUri', uri: string, timeout: string): string {
  return envelope(
    `<trt:${operation}Response><trt:MediaUri><tt:Uri>${xmlEscape(uri)}</tt:Uri><tt:InvalidAfterConnect>false</tt:InvalidAfterConnect>` +
      `<tt:InvalidAfterReboot>false</tt:InvalidAfterReboot><tt:Timeout>${timeout}</tt:Timeout></trt:MediaUri></trt:${operation}Response>`,
  );
}

export interface CameraPreset {
  token: string;
  name: string;
  pan: number;
  tilt: number;
  zoom: number;
}

function position(pan: number, tilt: number, zoom: number): string {
  return `<tt:PanTilt x="${pan}" y="${tilt}" space="${SPACES}/PanTiltSpaces/PositionGenericSpace"/><tt:Zoom x="${zoom}" space="${SPACES}/ZoomSpaces/PositionGenericSpace"/>`;
}

export function presetsResponse(list: readonly CameraPreset[]): string {
  const presets = list
    .map((p) => `<tptz:Preset token="${xmlEscape(p.token)}"><tt:Name>${xmlEscape(p.name)}</tt:Name><tt:PTZPosition>${position(p.pan, p.tilt, p.zoom)}</tt:PTZPosition></tptz:Preset>`)
    .join('');
  return envelope(`<tptz:GetPresetsResponse>${presets}</tptz:GetPresetsResponse>`);
}

export function statusResponse(at: { pan: number; tilt: number; zoom: number }, moving: boolean, now: Date): string {
  const state = moving ? 'MOVING' : 'IDLE';
  return envelope(
    `<tptz:GetStatusResponse><tptz:PTZStatus><tt:Position>${position(at.pan, at.tilt, at.zoom)}</tt:Position>` +
      `<tt:MoveStatus><tt:PanTilt>${state}</tt:PanTilt><tt:Zoom>${state}</tt:Zoom></tt:MoveStatus>` +
      `<tt:UtcTime>${now.toISOString()}</tt:UtcTime></tptz:PTZStatus></tptz:GetStatusResponse>`,
  );
}

/** An empty response message (ContinuousMoveResponse, StopResponse, GotoPresetResponse). */
export function emptyResponse(prefix: 'tptz', operation: string): string {
  return envelope(`<${prefix}:${operation}Response/>`);
}
