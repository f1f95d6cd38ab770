// Part of the simulated ONVIF camera: the event service's replies (event.wsdl, WS-BaseNotification
// 1.3), shaped like a Hikvision or Axis camera's: a TopicSet with MessageDescriptions, pull-point
// references, NotificationMessages with tt:Message UtcTime and PropertyOperation.
import { NS } from './auth.js';
import { xmlEscape } from './replies.js';

export const EVENT_NS = {
  wsa: 'http://www.w3.org/2005/08/addressing',
  wsnt: 'http://docs.oasis-open.org/wsn/b-2',
  wstop: 'http://docs.oasis-open.org/wsn/t-1',
  tev: 'http://www.onvif.org/ver10/events/wsdl',
  tns1: 'http://www.onvif.org/ver10/topics',
} as const;

/** One notification the camera queues for its pull points. */
export interface SimNotification {
  /** Without prefix, e.g. VideoSource/MotionAlarm. */
  topic: string;
  utcTime: Date;
  operation: 'Initialized' | 'Changed' | 'Deleted';
  source: Record<string, string>;
  data: Record<string, string>;
}

export function eventEnvelope(body: string): string {
  return (
    '<?xml version="1.0" encoding="UTF-8"?>\n' +
    `<env:Envelope xmlns:env="${NS.soap}" xmlns:tt="${NS.tt}" xmlns:ter="${NS.ter}" xmlns:wsa="${EVENT_NS.wsa}" xmlns:wsnt="${EVENT_NS.wsnt}" ` +
    `xmlns:wstop="${EVENT_NS.wstop}" xmlns:tev="${EVENT_NS.tev}" xmlns:tns1="${EVENT_NS.tns1}" xmlns:xs="http://www.w3.org/2001/XMLSchema">` +
    `<env:Body>${body}</env:Body></env:Envelope>\n`
  );
}

/** A topic's TopicSet entry: nested elements, the last marked wstop:topic="true", with its message description. */
function topicEntry(path: string, source: Record<string, string>, data: Record<string, string>): string {
  const parts = path.split('/');
  const items = (which: 'Source' | 'Data', fields: Record<string, string>) =>
    `<tt:${which}>${Object.entries(fields).map(([name, type]) => `<tt:SimpleItemDescription Name="${name}" Type="${type}"/>`).join('')}</tt:${which}>`;
  let inner = `<tt:MessageDescription IsProperty="true">${items('Source', source)}${items('Data', data)}</tt:MessageDescription>`;
  inner = `<tns1:${parts.at(-1)} wstop:topic="true">${inner}</tns1:${parts.at(-1)}>`;
  for (const part of parts.slice(0, -1).reverse()) inner = `<tns1:${part}>${inner}</tns1:${part}>`;
  return inner;
}

export interface TopicDescription {
  topic: string;
  source: Record<string, string>;
  data: Record<string, string>;
}

export function eventPropertiesResponse(topics: readonly TopicDescription[]): string {
  // Entries sharing a first element are merged the way a camera nests them only loosely: a
  // client reads each wstop:topic leaf's path, so separate branches are as good.
  return eventEnvelope(
    '<tev:GetEventPropertiesResponse><tev:TopicNamespaceLocation>http://www.onvif.org/onvif/ver10/topics/topicns.xml</tev:TopicNamespaceLocation>' +
      '<wsnt:FixedTopicSet>true</wsnt:FixedTopicSet>' +
      `<wstop:TopicSet>${topics.map((t) => topicEntry(t.topic, t.source, t.data)).join('')}</wstop:TopicSet>` +
      '<wsnt:TopicExpressionDialect>http://www.onvif.org/ver10/tev/topicExpression/ConcreteSet</wsnt:TopicExpressionDialect>' +
      '<tev:MessageContentFilterDialect>http://www.onvif.org/ver10/tev/messageContentFilter/ItemFilter</tev:MessageContentFilterDialect>' +
      '<tev:MessageContentSchemaLocation>http://www.onvif.org/onvif/ver10/schema/onvif.xsd</tev:MessageContentSchemaLocation>' +
      '</tev:GetEventPropertiesResponse>',
  );
}

export function pullPointResponse(address: string, now: Date, termination: Date): string {
  return eventEnvelope(
    `<tev:CreatePullPointSubscriptionResponse><tev:SubscriptionReference><wsa:Address>${xmlEscape(address)}</wsa:Address></tev:SubscriptionReference>` +
      `<wsnt:CurrentTime>${now.toISOString()}</wsnt:CurrentTime><wsnt:TerminationTime>${termination.toISOString()}</wsnt:TerminationTime></tev:CreatePullPointSubscriptionResponse>`,
  );
}

function items(fields: Record<string, string>): string {
  return Object.entries(fields).map(([name, value]) => `<tt:SimpleItem Name="${xmlEscape(name)}" Value="${xmlEscape(value)}"/>`).join('');
}

export function notificationMessage(n: SimNotification): string {
  return (
    `<wsnt:NotificationMessage><wsnt:Topic Dialect="http://www.onvif.org/ver10/tev/topicExpression/ConcreteSet">tns1:${xmlEscape(n.topic)}</wsnt:Topic>` +
    `<wsnt:Message><tt:Message UtcTime="${n.utcTime.toISOString()}" PropertyOperation="${n.operation}">` +
    `<tt:Source>${items(n.source)}</tt:Source><tt:Data>${items(n.data)}</tt:Data></tt:Message></wsnt:Message></wsnt:NotificationMessage>`
  );
}

export function pullMessagesResponse(now: Date, termination: Date, messages: readonly SimNotification[]): string {
  return eventEnvelope(
    `<tev:PullMessagesResponse><tev:CurrentTime>${now.toISOString()}</tev:CurrentTime><tev:TerminationTime>${termination.toISOString()}</tev:TerminationTime>` +
      `${messages.map(notificationMessage).join('')}</tev:PullMessagesResponse>`,
  );
}

export function renewResponse(now: Date, termination: Date): string {
  return eventEnvelope(`<wsnt:RenewResponse><wsnt:TerminationTime>${termination.toISOString()}</wsnt:TerminationTime><wsnt:CurrentTime>${now.toISOString()}</wsnt:CurrentTime></wsnt:RenewResponse>`);
}

export function unsubscribeResponse(): string {
  return eventEnvelope('<wsnt:UnsubscribeResponse/>');
}
