import { classifyTopic } from '../topics.js';
import type { MessageClass } from './outbox.js';

/**
 * Events that matter for the building's security: kept in the outbox when it overflows, like
 * results. door_forced and door_held_open come from gates; the others are reserved for kinds to come.
 */
export const SECURITY_EVENTS: ReadonlySet<string> = new Set(['door_forced', 'door_held_open', 'tamper', 'intrusion']);

/** The outbox class of a message the gateway publishes (or forwards) on `site`. */
export function messageClass(site: string, topic: string, payload: Buffer, retain: boolean): MessageClass {
  if (retain) return 'retained';
  const topicClass = classifyTopic(site, topic);
  if (topicClass.type !== 'reserved') return 'telemetry';
  if (topicClass.leaf === 'result') return 'result';
  if (topicClass.leaf === 'event' && SECURITY_EVENTS.has(eventType(payload) ?? '')) return 'security';
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
