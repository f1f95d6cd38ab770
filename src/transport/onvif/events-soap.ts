// The event service's messages (ONVIF event.wsdl, OASIS WS-BaseNotification 1.3): the requests a
// pull-point client sends, with WS-Addressing headers (ONVIF Core section 9.1: the Action, and To
// for the subscription's own address) and a WS-Security UsernameToken whose Created follows the
// camera's clock; and the readers of the replies, over the bounded XML reader (events-xml.ts).
// Faults and replies that are not what was asked for become OnvifError, like the other services.
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { OnvifError } from './access.js';
import { childNamed, childOf, childrenOf, parseBoundedXml, textOf, XmlLimitError, type XmlNode } from './events-xml.js';

export const EVENT_NS = {
  soap: 'http://www.w3.org/2003/05/soap-envelope',
  wsa: 'http://www.w3.org/2005/08/addressing',
  wsnt: 'http://docs.oasis-open.org/wsn/b-2',
  wstop: 'http://docs.oasis-open.org/wsn/t-1',
  tev: 'http://www.onvif.org/ver10/events/wsdl',
  tt: 'http://www.onvif.org/ver10/schema',
  tns1: 'http://www.onvif.org/ver10/topics',
} as const;

const ACTIONS = {
  GetEventProperties: 'http://www.onvif.org/ver10/events/wsdl/EventPortType/GetEventPropertiesRequest',
  CreatePullPointSubscription: 'http://www.onvif.org/ver10/events/wsdl/EventPortType/CreatePullPointSubscriptionRequest',
  PullMessages: 'http://www.onvif.org/ver10/events/wsdl/PullPointSubscription/PullMessagesRequest',
  Renew: 'http://docs.oasis-open.org/wsn/bw-2/SubscriptionManager/RenewRequest',
  Unsubscribe: 'http://docs.oasis-open.org/wsn/bw-2/SubscriptionManager/UnsubscribeRequest',
} as const;

export type EventOperation = keyof typeof ACTIONS;

/** Most notifications one PullMessages may bring (MessageLimit). */
export const MESSAGE_LIMIT = 100;
/** Simple items kept per notification, and characters per name or value: the rest is dropped. */
const MAX_ITEMS = 16;
const MAX_ITEM_CHARS = 256;
const MAX_TOPIC_CHARS = 256;

export interface Security {
  user: string;
  password: string;
  /** Camera clock minus ours. */
  clockOffsetMs: number;
}

function xmlEscape(value: string): string {
  return value.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]!);
}

/** OASIS WSS UsernameToken Profile 1.0 section 3.1: PasswordDigest = Base64(SHA-1(nonce + created + password)). */
function usernameToken(s: Security): string {
  const nonce = randomBytes(16);
  const created = new Date(Date.now() + s.clockOffsetMs).toISOString();
  const digest = createHash('sha1').update(Buffer.concat([nonce, Buffer.from(created, 'utf8'), Buffer.from(s.password, 'utf8')])).digest('base64');
  return (
    '<wsse:Security s:mustUnderstand="1" xmlns:wsse="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd" ' +
    'xmlns:wsu="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"><wsse:UsernameToken>' +
    `<wsse:Username>${xmlEscape(s.user)}</wsse:Username>` +
    `<wsse:Password Type="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordDigest">${digest}</wsse:Password>` +
    `<wsse:Nonce EncodingType="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-1.0#Base64Binary">${nonce.toString('base64')}</wsse:Nonce>` +
    `<wsu:Created>${created}</wsu:Created></wsse:UsernameToken></wsse:Security>`
  );
}

/** A request envelope for `operation` sent to `to`; `security` undefined for a camera without authentication. */
export function eventRequest(operation: EventOperation, to: string, body: string, security: Security | undefined): string {
  return (
    '<?xml version="1.0" encoding="UTF-8"?>' +
    `<s:Envelope xmlns:s="${EVENT_NS.soap}" xmlns:wsa="${EVENT_NS.wsa}" xmlns:wsnt="${EVENT_NS.wsnt}" xmlns:tev="${EVENT_NS.tev}">` +
    `<s:Header><wsa:Action s:mustUnderstand="1">${ACTIONS[operation]}</wsa:Action>` +
    `<wsa:MessageID>urn:uuid:${randomUUID()}</wsa:MessageID><wsa:To s:mustUnderstand="1">${xmlEscape(to)}</wsa:To>` +
    (security === undefined ? '' : usernameToken(security)) +
    `</s:Header><s:Body>${body}</s:Body></s:Envelope>`
  );
}

export const bodies = {
  getEventProperties: () => '<tev:GetEventProperties/>',
  createPullPoint: (terminationS: number) => `<tev:CreatePullPointSubscription><tev:InitialTerminationTime>PT${terminationS}S</tev:InitialTerminationTime></tev:CreatePullPointSubscription>`,
  pullMessages: (timeoutS: number) => `<tev:PullMessages><tev:Timeout>PT${timeoutS}S</tev:Timeout><tev:MessageLimit>${MESSAGE_LIMIT}</tev:MessageLimit></tev:PullMessages>`,
  renew: (terminationS: number) => `<wsnt:Renew><wsnt:TerminationTime>PT${terminationS}S</wsnt:TerminationTime></wsnt:Renew>`,
  unsubscribe: () => '<wsnt:Unsubscribe/>',
};

/**
 * The Body's response element of a reply to `operation`, or the OnvifError the reply amounts to:
 * a SOAP fault, XML that is not well-formed or past the limits, or another element.
 */
export function readReply(xml: string, status: number, operation: EventOperation, label: string): XmlNode {
  let doc: XmlNode | undefined;
  if (xml.trim() !== '') {
    try {
      doc = parseBoundedXml(xml);
    } catch (err) {
      const why = err instanceof XmlLimitError ? err.message : `is not well-formed XML (${(err as Error).message.split('\n')[0]})`;
      if (status === 200 || err instanceof XmlLimitError) throw new OnvifError('bad_reply', 'device_error', `${label}: reply ${why}`, { cause: err });
    }
  }
  const body = doc !== undefined && doc.uri === EVENT_NS.soap && doc.local === 'Envelope' ? childOf(doc, EVENT_NS.soap, 'Body') : undefined;
  const fault = childOf(body, EVENT_NS.soap, 'Fault');
  if (fault !== undefined) throw faultOf(fault, label, status);
  if (status === 401 || status === 403) throw new OnvifError('not_authorized', 'device_error', `${label}: HTTP ${status}; the camera refused the credentials`, { notApplied: true });
  if (status !== 200) throw new OnvifError('http_status', 'device_error', `${label}: HTTP ${status}`);
  if (body === undefined) throw new OnvifError('bad_reply', 'device_error', `${label}: reply is not a SOAP 1.2 envelope with a Body`);
  const wanted = `${operation}Response`;
  const response = body.children.find((c) => c.local === wanted && (c.uri === EVENT_NS.tev || c.uri === EVENT_NS.wsnt));
  if (response === undefined) {
    throw new OnvifError('bad_reply', 'device_error', `${label}: reply has no ${wanted} (has ${body.children.map((c) => c.local).join(', ') || 'nothing'})`);
  }
  return response;
}

/** One bounded POST of a SOAP envelope to `url`; the reply's status and text (the camera's HTTP layer: limits, Digest). */
export type PostEnvelope = (url: string, envelope: string, signal: AbortSignal, label: string) => Promise<{ status: number; body: string }>;

/** One call to the event service: the request (WS-Addressing, UsernameToken) posted, the reply checked by readReply. */
export async function eventCall(post: PostEnvelope, operation: EventOperation, to: string, body: string, security: Security | undefined, signal: AbortSignal, label: string): Promise<XmlNode> {
  const reply = await post(to, eventRequest(operation, to, body, security), signal, label);
  return readReply(reply.body, reply.status, operation, label);
}

function faultOf(fault: XmlNode, label: string, status: number): OnvifError {
  const codes: string[] = [];
  let code = childOf(fault, EVENT_NS.soap, 'Code');
  while (code !== undefined) {
    const value = textOf(childOf(code, EVENT_NS.soap, 'Value'));
    if (value) codes.push(value.slice(0, 128));
    code = childOf(code, EVENT_NS.soap, 'Subcode');
  }
  const reason = textOf(childOf(childOf(fault, EVENT_NS.soap, 'Reason'), EVENT_NS.soap, 'Text')).slice(0, 512) || 'no reason given';
  const locals = codes.slice(1).map((c) => c.replace(/^[^:]*:/, ''));
  const where = `${label}: SOAP fault ${codes.join(' / ') || '(no code)'} (HTTP ${status}): ${reason}`;
  const faultSubcode = codes.length > 1 ? codes.at(-1) : undefined;
  if (locals.includes('NotAuthorized')) return new OnvifError('not_authorized', 'device_error', where, { notApplied: true, faultSubcode });
  if (locals.includes('ActionNotSupported')) return new OnvifError('not_supported', 'device_error', where, { notApplied: true, faultSubcode });
  return new OnvifError('soap_fault', 'device_error', where, { notApplied: true, faultSubcode });
}

/** xs:dateTime to epoch ms, or undefined. */
function time(text: string): number | undefined {
  if (text === '') return undefined;
  const ms = Date.parse(text);
  return Number.isFinite(ms) ? ms : undefined;
}

export interface PullPoint {
  /** The subscription's address (wsa:Address of SubscriptionReference). */
  address: string;
  /** The camera's clock at the reply, and when the subscription ends by that clock (epoch ms). */
  currentTime: number | undefined;
  terminationTime: number | undefined;
}

export function readPullPoint(response: XmlNode, label: string): PullPoint {
  const address = textOf(childOf(childOf(response, EVENT_NS.tev, 'SubscriptionReference'), EVENT_NS.wsa, 'Address'));
  if (!/^https?:\/\//.test(address)) throw new OnvifError('bad_reply', 'device_error', `${label}: no http(s) SubscriptionReference/Address (got ${JSON.stringify(address.slice(0, 200))})`);
  return { address, ...readTimes(response) };
}

/** CurrentTime and TerminationTime: wsnt: in Create and Renew replies, tev: in a PullMessagesResponse (event.wsdl). */
export function readTimes(response: XmlNode): { currentTime: number | undefined; terminationTime: number | undefined } {
  const field = (local: string) => time(textOf(childOf(response, EVENT_NS.wsnt, local) ?? childOf(response, EVENT_NS.tev, local)));
  return { currentTime: field('CurrentTime'), terminationTime: field('TerminationTime') };
}

/** One notification as the camera sent it, bounded in size. */
export interface OnvifNotification {
  /** The concrete topic, its ONVIF prefix written `tns1:` whatever the camera called it. */
  topic: string;
  /** tt:Message/@UtcTime, the camera's clock, epoch ms; undefined when absent or not a time. */
  utcTime: number | undefined;
  /** Initialized: the state at subscription time; Changed; Deleted; '' for a plain event. */
  operation: 'Initialized' | 'Changed' | 'Deleted' | '';
  source: Record<string, string>;
  data: Record<string, string>;
}

function simpleItems(node: XmlNode | undefined): Record<string, string> {
  const items: Record<string, string> = Object.create(null) as Record<string, string>;
  let n = 0;
  for (const item of node?.children ?? []) {
    if (item.local !== 'SimpleItem' || n >= MAX_ITEMS) continue;
    const name = (item.attributes.Name ?? '').slice(0, MAX_ITEM_CHARS);
    if (name === '' || name === '__proto__') continue;
    items[name] = (item.attributes.Value ?? '').slice(0, MAX_ITEM_CHARS);
    n += 1;
  }
  return items;
}

/** The notifications of a PullMessagesResponse, with the times of the reply. */
export function readMessages(response: XmlNode): { notifications: OnvifNotification[]; currentTime: number | undefined; terminationTime: number | undefined } {
  const notifications: OnvifNotification[] = [];
  for (const message of childrenOf(response, EVENT_NS.wsnt, 'NotificationMessage').slice(0, MESSAGE_LIMIT)) {
    const topicNode = childOf(message, EVENT_NS.wsnt, 'Topic');
    const topic = normaliseTopic(textOf(topicNode), topicNode?.ns ?? {});
    const inner = childNamed(childOf(message, EVENT_NS.wsnt, 'Message'), 'Message');
    if (topic === '' || inner === undefined) continue;
    const op = inner.attributes.PropertyOperation ?? '';
    notifications.push({
      topic,
      utcTime: time(inner.attributes.UtcTime ?? ''),
      operation: op === 'Initialized' || op === 'Changed' || op === 'Deleted' ? op : '',
      source: simpleItems(childNamed(inner, 'Source')),
      data: simpleItems(childNamed(inner, 'Data')),
    });
  }
  return { notifications, ...readTimes(response) };
}

/**
 * A concrete topic expression with its prefix written `tns1:` when it is bound to the ONVIF topic
 * namespace (cameras pick their own prefixes); `ns`: the prefixes in scope where it was written.
 */
export function normaliseTopic(expression: string, ns: Readonly<Record<string, string>>): string {
  const text = expression.slice(0, MAX_TOPIC_CHARS);
  const colon = text.indexOf(':');
  if (colon > 0 && ns[text.slice(0, colon)] === EVENT_NS.tns1) return `tns1:${text.slice(colon + 1)}`;
  return text;
}

/** A topic the camera can report (GetEventProperties), with the names of the SimpleItems its messages carry. */
export interface EventTopicDescription {
  /** As a notification of it reads: `tns1:` for the ONVIF topic namespace, the camera's own prefix for a vendor's. */
  topic: string;
  /** Where (Source, e.g. VideoSourceToken) and what (Data, e.g. State). */
  source: string[];
  data: string[];
}

/** More than any camera offers: topics past this are not read. */
export const MAX_TOPICS = 500;

/**
 * The topics of a GetEventPropertiesResponse's wstop:TopicSet: every element marked
 * wstop:topic="true" (a topic may hold narrower ones), with its tt:MessageDescription's items.
 */
export function readTopicDescriptions(response: XmlNode): EventTopicDescription[] {
  const topics: EventTopicDescription[] = [];
  const walk = (node: XmlNode, path: string): void => {
    for (const c of node.children) {
      if (topics.length >= MAX_TOPICS) return;
      if (c.uri === EVENT_NS.tt && c.local === 'MessageDescription') continue;
      const next = path === '' ? `${c.uri === EVENT_NS.tns1 ? 'tns1' : c.prefix || 'tns'}:${c.local}` : `${path}/${c.local}`;
      if (c.attributes.topic?.trim() === 'true') {
        const description = childOf(c, EVENT_NS.tt, 'MessageDescription');
        topics.push({ topic: next.slice(0, MAX_TOPIC_CHARS), source: itemNames(childOf(description, EVENT_NS.tt, 'Source')), data: itemNames(childOf(description, EVENT_NS.tt, 'Data')) });
      }
      walk(c, next);
    }
  };
  const set = childOf(response, EVENT_NS.wstop, 'TopicSet');
  if (set !== undefined) walk(set, '');
  return topics;
}

/** The Names of a Source's or Data's SimpleItemDescriptions, bounded like a notification's items. */
function itemNames(node: XmlNode | undefined): string[] {
  const names = childrenOf(node, EVENT_NS.tt, 'SimpleItemDescription').map((d) => (d.attributes.Name ?? '').slice(0, MAX_ITEM_CHARS));
  return names.filter((n) => n !== '').slice(0, MAX_ITEMS);
}

/** The topic paths of a GetEventPropertiesResponse (readTopicDescriptions without the items). */
export function readTopicSet(response: XmlNode): string[] {
  return readTopicDescriptions(response).map((t) => t.topic);
}
