import { kinds } from '../devices/kinds/index.js';
import type { KindDefinition } from '../devices/kinds/types.js';
import { classifyTopic } from '../topics.js';
import type { MessageClass } from './outbox.js';

/** Event names a driver may declare (serial-line `events`) that count as security events whatever the kind. */
const DRIVER_SECURITY_EVENTS = ['tamper', 'intrusion'];

/** The events that matter for the building's security, as the kinds declare them (`security: true`). */
export function securityEventsOf(definitions: Iterable<KindDefinition>): ReadonlySet<string> {
  const events = new Set(DRIVER_SECURITY_EVENTS);
  for (const kind of definitions) {
    for (const [event, definition] of Object.entries(kind.eventDocs)) if (definition.security) events.add(event);
  }
  return events;
}

/**
 * Events kept in the outbox when it overflows, like results: door_forced and door_held_open of
 * gates, and whatever a kind added later declares.
 */
export const SECURITY_EVENTS: ReadonlySet<string> = securityEventsOf(Object.values(kinds));

/** The outbox class of a message the gateway publishes (or forwards) on `site`. */
export function messageClass(site: string, topic: string, payload: Buffer, retain: boolean, securityEvents = SECURITY_EVENTS): MessageClass {
  if (retain) return 'retained';
  const topicClass = classifyTopic(site, topic);
  if (topicClass.type !== 'reserved') return 'telemetry';
  if (topicClass.leaf === 'result') return 'result';
  if (topicClass.leaf === 'event' && securityEvents.has(eventType(payload) ?? '')) return 'security';
  return 'telemetry';
}

function eventType(payload: Buffer): string | undefined {
  try {
    const parsed: unknown = JSON.parse(payload.toString('utf8'));
    const type = (parsed as { event?: unknown } | null)?.event;
    return typeof type === 'string' ? type : undefined;
  } catch {
    return undefined;
  }
}
