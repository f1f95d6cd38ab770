import type { Commit } from './commit.js';
import { payloadForJournal, type Journal, type JournalEntry } from './journal.js';

// Device events (door_forced, door_held_open, passage, snapshot, ...) in the audit journal, next to
// the commands that caused or answered them. One function, so whatever delivers events (the
// gateway's device sink today, an event bus later) hands each one over the same way.

export interface DeviceEvent {
  kind: string;
  device: string;
  /** The event's name, e.g. `door_forced`. */
  type: string;
  /** When it happened, epoch ms. */
  at: number;
  /** The event's own fields, e.g. `{open_ms}` or `{direction, count, total}`. */
  details: Record<string, unknown>;
}

export interface EventJournalLogger {
  warn(obj: object, msg?: string): void;
}

/** The journal entry of a device event: its name in `event`, its fields as JSON in `payload`. */
export function eventJournalEntry(e: DeviceEvent): JournalEntry {
  const entry: JournalEntry = { at: e.at, type: 'event', kind: e.kind, device: e.device, event: e.type };
  if (Object.keys(e.details).length > 0) entry.payload = payloadForJournal(Buffer.from(JSON.stringify(e.details)));
  return entry;
}

/**
 * `record(event)` writes the event with the next group commit, like a command's entry; nobody waits
 * for it, and a failed write is logged, never thrown at the device that reported the event.
 */
export function eventRecorder(deps: { journal: Journal; commit: Commit; log: EventJournalLogger }): (event: DeviceEvent) => void {
  return (event) => {
    const entry = eventJournalEntry(event);
    deps.commit(() => deps.journal.append(entry)).catch((err) =>
      deps.log.warn({ err: String(err), device: event.device, event: event.type }, 'could not journal a device event'),
    );
  };
}
