// What a camera can report (ONVIF Event Service, event.wsdl GetEventProperties), for the probe:
// GetCapabilities (node-onvif through gatehouse's SOAP layer, src/transport/onvif/soap.ts) finds the
// event service address, then one GetEventProperties made, checked and read by the event
// transport's own code (src/transport/onvif/events-soap.ts: WS-Security UsernameToken on the
// camera's clock, faults, bounded XML, the TopicSet with each topic's simple items), sent by its
// HTTP layer (limits, Digest).
import http from 'node:http';
import https from 'node:https';
import { createRequire } from 'node:module';
import type { OnvifSoapResult } from 'node-onvif';
import { OnvifError } from '../transport/onvif/access.js';
import { bodies, eventCall, readTopicDescriptions, type EventTopicDescription, type PostEnvelope } from '../transport/onvif/events-soap.js';
import { httpExchange, type HttpAgents } from '../transport/onvif/http.js';
import { inSoapScope, installSoapLayer, isRecord, text, type SoapScope } from '../transport/onvif/soap.js';

export type EventProperties =
  | { service: 'present'; xaddr: string; topics: EventTopicDescription[] }
  /** `reason`: why there is nothing to list, in words. */
  | { service: 'absent'; reason: string };

export interface EventPropertiesRequest {
  xaddr: string;
  user: string;
  password: string;
  /** Camera clock minus ours (from the transport's init), for the UsernameToken's Created. */
  clockOffsetMs: number;
  timeoutMs: number;
  maxBodyBytes: number;
}

type DeviceServiceClass = new (params: { xaddr: string; user: string; pass: string; time_diff: number }) => { getCapabilities(): Promise<OnvifSoapResult> };
const require = createRequire(import.meta.url);
const DeviceService = require('node-onvif/lib/modules/service-device.js') as DeviceServiceClass;

export async function readEventProperties(req: EventPropertiesRequest): Promise<EventProperties> {
  installSoapLayer();
  const agents: HttpAgents = { http: new http.Agent({ keepAlive: false }), https: new https.Agent({ keepAlive: false }) };
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new OnvifError('timeout', 'timeout', `event properties: no complete reply within ${req.timeoutMs} ms`)), req.timeoutMs);
  const credentials = req.user === '' ? undefined : { user: req.user, password: req.password };
  const scope: SoapScope = { signal: controller.signal, maxBodyBytes: req.maxBodyBytes, agents, credentials, failures: [] };
  const post: PostEnvelope = async (url, envelope, signal, label) => {
    const reply = await httpExchange({ url: new URL(url), method: 'POST', headers: { 'content-type': 'application/soap+xml; charset=utf-8' }, body: Buffer.from(envelope, 'utf8'), maxBytes: req.maxBodyBytes, signal, agents, credentials, label });
    return { status: reply.status, body: reply.body.toString('utf8') };
  };
  try {
    const capabilities = await inSoapScope(scope, () => new DeviceService({ xaddr: req.xaddr, user: req.user, pass: req.password, time_diff: req.clockOffsetMs }).getCapabilities());
    const xaddr = eventsXaddr(capabilities.data);
    if (xaddr === undefined) return { service: 'absent', reason: 'the camera lists no event service (GetCapabilities has no Events XAddr)' };
    const url = URL.canParse(xaddr) ? new URL(xaddr) : undefined;
    if (url === undefined || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
      throw new OnvifError('bad_reply', 'device_error', `GetCapabilities: the camera's event service address is not an http(s) URL (${JSON.stringify(xaddr.slice(0, 200))})`);
    }
    const security = credentials === undefined ? undefined : { ...credentials, clockOffsetMs: req.clockOffsetMs };
    try {
      const response = await eventCall(post, 'GetEventProperties', xaddr, bodies.getEventProperties(), security, controller.signal, `GetEventProperties at ${url.origin}${url.pathname}`);
      return { service: 'present', xaddr, topics: readTopicDescriptions(response) };
    } catch (err) {
      // A camera that advertises the service but does not serve it is a camera without events.
      if (err instanceof OnvifError && (err.reason === 'http_status' || err.reason === 'not_supported')) {
        return { service: 'absent', reason: `the camera lists an event service at ${xaddr} but it does not answer GetEventProperties (${err.message})` };
      }
      throw err;
    }
  } finally {
    clearTimeout(timer);
    agents.http.destroy();
    agents.https.destroy();
  }
}

function eventsXaddr(body: Record<string, unknown>): string | undefined {
  const response = body.GetCapabilitiesResponse;
  const capabilities = isRecord(response) ? response.Capabilities : undefined;
  const events = isRecord(capabilities) ? capabilities.Events : undefined;
  const xaddr = isRecord(events) ? text(events.XAddr) : '';
  return xaddr === '' ? undefined : xaddr;
}
