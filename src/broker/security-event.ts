// What the broker reports to the security journal: refused logins, lockouts, refused PUBLISH and
// SUBSCRIBE packets (refused wills too), and persistent sessions removed by
// broker.limits.session_expiry_s. Its own module so that every part of the broker can report without
// importing broker.ts.
import type { Logger } from 'pino';
import { boundedText, MAX_LOGGED_NAME_CHARS, MAX_LOGGED_TOPIC_CHARS } from './log-bounds.js';

export type SecurityEvent = {
  type: 'auth_failed' | 'publish_denied' | 'subscribe_denied' | 'lockout' | 'session_expired';
  clientId: string;
  username?: string;
  peer: string;
  /** mqtt+tcp, mqtt+tls, mqtt+ws or mqtt+wss. */
  protocol?: string;
  topic?: string;
  reason: string;
};

/** Logs and journals a security event. */
export type SecurityReporter = (event: SecurityEvent, message: string) => void;

/** `full` with the texts the peer chose cut to a readable length (log-bounds.ts). */
export function boundedSecurityEvent(full: SecurityEvent): SecurityEvent {
  // Whole, each could be 64 KiB in every log line and journal entry.
  const event: SecurityEvent = { ...full, clientId: boundedText(full.clientId, MAX_LOGGED_NAME_CHARS) };
  if (full.username !== undefined) event.username = boundedText(full.username, MAX_LOGGED_NAME_CHARS);
  if (full.topic !== undefined) event.topic = boundedText(full.topic, MAX_LOGGED_TOPIC_CHARS);
  return event;
}

/** Bounds each event, logs it at warn and hands it to `journal`, which must not throw (logged if it does). */
export function securityReporter(log: Logger, journal: (event: SecurityEvent) => void): SecurityReporter {
  return (full, message) => {
    const event = boundedSecurityEvent(full);
    log.warn(event, message);
    try {
      journal(event);
    } catch (err) {
      log.error({ err }, 'onSecurityEvent hook threw');
    }
  };
}
