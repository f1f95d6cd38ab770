// What a camera can report (ONVIF Event Service, event.wsdl GetEventProperties): the topics of its
// TopicSet, each with the simple items its messages carry. A probe's own small call, beside the
// gateway's event subscription code: GetCapabilities finds the event service address, then one
// GetEventProperties, both built by node-onvif (WS-Security UsernameToken, the camera's clock
// offset) and sent by gatehouse's SOAP layer (src/transport/onvif/soap.ts: limits, Digest, errors).
import http from 'node:http';
import https from 'node:https';
import { createRequire } from 'node:module';
import type { OnvifSoapResult } from 'node-onvif';
import sax from 'sax';
import { OnvifError } from '../transport/onvif/access.js';
import { inSoapScope, installSoapLayer, isRecord, text, type SoapScope } from '../transport/onvif/soap.js';

export interface EventTopic {
  /** The topic path as ONVIF writes it, e.g. `tns1:RuleEngine/CellMotionDetector/Motion`. */
  topic: string;
  /** Names of the SimpleItems that say where (Source) and what (Data), e.g. VideoSourceToken, State. */
  source: string[];
  data: string[];
}

export type EventProperties =
  | { service: 'present'; xaddr: string; topics: EventTopic[] }
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

interface NodeOnvifService {
  getCapabilities?(): Promise<OnvifSoapResult>;
  getEventProperties?(): Promise<OnvifSoapResult>;
}
type ServiceClass = new (params: { xaddr: string; user: string; pass: string; time_diff: number }) => NodeOnvifService;
const require = createRequire(import.meta.url);
const DeviceService = require('node-onvif/lib/modules/service-device.js') as ServiceClass;
const EventsService = require('node-onvif/lib/modules/service-events.js') as ServiceClass;

const WSTOP = 'http://docs.oasis-open.org/wsn/t-1';
const ONVIF_TOPICS = 'http://www.onvif.org/ver10/topics';
const SCHEMA = 'http://www.onvif.org/ver10/schema';
/** Deeper than any real topic tree; a reply nested further is not read past this. */
const MAX_DEPTH = 24;
/** More than any camera offers; the rest are counted, not listed. */
export const MAX_TOPICS = 500;

export async function readEventProperties(req: EventPropertiesRequest): Promise<EventProperties> {
  installSoapLayer();
  const agents = { http: new http.Agent({ keepAlive: false }), https: new https.Agent({ keepAlive: false }) };
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new OnvifError('timeout', 'timeout', `event properties: no complete reply within ${req.timeoutMs} ms`)), req.timeoutMs);
  const scope: SoapScope = { signal: controller.signal, maxBodyBytes: req.maxBodyBytes, agents, credentials: req.user === '' ? undefined : { user: req.user, password: req.password }, failures: [] };
  const params = { user: req.user, pass: req.password, time_diff: req.clockOffsetMs };
  try {
    return await inSoapScope(scope, async () => {
      const capabilities = await new DeviceService({ xaddr: req.xaddr, ...params }).getCapabilities!();
      const xaddr = eventsXaddr(capabilities.data);
      if (xaddr === undefined) return { service: 'absent', reason: 'the camera lists no event service (GetCapabilities has no Events XAddr)' };
      let reply: OnvifSoapResult;
      try {
        reply = await new EventsService({ xaddr, ...params }).getEventProperties!();
      } catch (err) {
        // A camera that advertises the service but does not serve it is a camera without events.
        if (err instanceof OnvifError && (err.reason === 'http_status' || err.reason === 'not_supported')) {
          return { service: 'absent', reason: `the camera lists an event service at ${xaddr} but it does not answer GetEventProperties (${err.message})` };
        }
        throw err;
      }
      return { service: 'present', xaddr, topics: topicsOf(reply.soap) };
    });
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

interface Open {
  /** The element's path below the TopicSet, with prefixes as the topic should read. */
  path: string[];
  topic?: EventTopic;
  /** Inside a MessageDescription's Source or Data. */
  items?: 'source' | 'data';
}

/** The topics of a GetEventPropertiesResponse's wstop:TopicSet: every element marked wstop:topic="true". */
export function topicsOf(xml: string): EventTopic[] {
  const parser = sax.parser(true, { xmlns: true });
  const topics: EventTopic[] = [];
  const stack: (Open | null)[] = [];
  let inSet = false;
  let failure: Error | undefined;
  parser.onerror = (err) => {
    failure ??= err;
  };
  parser.onopentag = (tagNs) => {
    if (!inSet) {
      if (tagNs.uri === WSTOP && tagNs.local === 'TopicSet') inSet = true;
      stack.push(null);
      return;
    }
    const parent = stack.at(-1) ?? { path: [] };
    if (stack.length > MAX_DEPTH) {
      stack.push(parent);
      return;
    }
    if (parent.topic !== undefined) {
      // Inside a topic: its MessageDescription's Source and Data list the SimpleItems.
      const items = tagNs.uri === SCHEMA && tagNs.local === 'Source' ? 'source' : tagNs.uri === SCHEMA && tagNs.local === 'Data' ? 'data' : parent.items;
      if (items !== undefined && tagNs.uri === SCHEMA && tagNs.local === 'SimpleItemDescription') {
        const name = Object.values(tagNs.attributes).find((a) => a.local === 'Name')?.value;
        if (name !== undefined) parent.topic[items].push(name);
      }
      stack.push({ ...parent, items });
      return;
    }
    const name = parent.path.length === 0 ? `${tagNs.uri === ONVIF_TOPICS ? 'tns1' : tagNs.prefix || 'tns'}:${tagNs.local}` : tagNs.local;
    const open: Open = { path: [...parent.path, name] };
    const marked = Object.values(tagNs.attributes).some((a) => a.uri === WSTOP && a.local === 'topic' && a.value.trim() === 'true');
    if (marked) {
      open.topic = { topic: open.path.join('/'), source: [], data: [] };
      if (topics.length < MAX_TOPICS) topics.push(open.topic);
    }
    stack.push(open);
  };
  parser.onclosetag = (name) => {
    stack.pop();
    if (inSet && name.endsWith('TopicSet') && stack.every((s) => s === null)) inSet = false;
  };
  try {
    parser.write(xml).close();
  } catch (err) {
    failure ??= err as Error;
  }
  if (failure !== undefined) throw new OnvifError('bad_reply', 'device_error', `GetEventProperties: reply is not well-formed XML (${failure.message.split('\n')[0]})`);
  return topics;
}
