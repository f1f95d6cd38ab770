// Bounds on what a network peer can make the broker write to its log and its security journal:
// warnings it can cause once per connection are throttled, and the text it chooses (client id,
// username, topic: up to 64 KiB each, MQTT-1.5.3) is cut to a readable length.

/** Longest client id or username kept in a log line or security event. */
export const MAX_LOGGED_NAME_CHARS = 256;
/** Longest topic kept in a log line or security event (the default broker.limits.max_topic_length). */
export const MAX_LOGGED_TOPIC_CHARS = 1024;

/** `text` cut to `max` characters, saying how long it was; anything but a string is returned as is. */
export function boundedText<T extends string | null | undefined>(text: T, max: number): T {
  // aedes' client.id is still null when a connection fails before its CONNECT is handled.
  if (typeof text !== 'string' || text.length <= max) return text;
  // Never split a surrogate pair: half of one is not valid UTF-8 in the journal.
  const last = text.charCodeAt(max - 1);
  const end = last >= 0xd800 && last <= 0xdbff ? max - 1 : max;
  return `${text.slice(0, end)}…(${text.length} characters)` as T;
}

interface WarnLog {
  warn(fields: object, message: string): void;
  debug(fields: object, message: string): void;
}

/**
 * One warning per interval for a message any peer can trigger once per connection (a malformed
 * packet, a connection error): the first of each interval goes out at warn with the number held
 * back since the last one, the others at debug.
 */
export class WarnThrottle {
  private heldBack = 0;
  private lastWarnAt = -Infinity;

  constructor(
    private readonly log: WarnLog,
    private readonly intervalMs = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

  warn(fields: object, message: string): void {
    const now = this.now();
    if (now - this.lastWarnAt < this.intervalMs) {
      this.heldBack++;
      this.log.debug(fields, message);
      return;
    }
    this.log.warn(this.heldBack > 0 ? { ...fields, held_back_since_last_warning: this.heldBack } : fields, message);
    this.lastWarnAt = now;
    this.heldBack = 0;
  }
}
