// broker.limits.max_queued_messages: a bound on the QoS 1/2 messages the broker stores for a
// persistent session (CleanSession=0, MQTT 3.1.1 section 3.1.2.4) whose client is not connected.
// aedes 1.2.0 stores a copy of every QoS 1/2 message for every persistent subscriber (connected or
// not) before routing it, removes it on PUBACK/PUBCOMP, and sends the stored ones on reconnect. The
// broker's persistence (persistence/gatehouse-persistence.ts) asks this limiter before it stores
// one, with the number the session has stored now (restored ones included after a restart).
//
// A full queue drops the NEWER message (as mosquitto's max_queued_messages does): the older ones
// stay and are delivered in order on reconnect. A connected client is never limited here: its
// stored copies are its messages in flight, bounded by broker.limits.max_inflight; and a copy
// aedes did not store would make aedes fail the live delivery (outgoingUpdate: "no such packet").
import type { Logger } from 'pino';
import { boundedText, MAX_LOGGED_NAME_CHARS } from '../log-bounds.js';
import type { QueuePolicy } from '../persistence/gatehouse-persistence.js';

export interface OfflineQueueOptions {
  /** Stored messages per offline session; 0 = no limit. */
  maxQueued: number;
  /** Whether a client with this id is connected (or connecting): its session is not offline. */
  isAttached(clientId: string): boolean;
  log: Logger;
}

export class OfflineQueueLimiter implements QueuePolicy {
  /** Messages dropped per session since its queue last accepted one: one burst. */
  private readonly bursts = new Map<string, number>();
  private droppedTotal = 0;

  constructor(private readonly options: OfflineQueueOptions) {}

  /** Messages dropped by the limit so far. */
  get dropped(): number {
    return this.droppedTotal;
  }

  admit(clientId: string, queued: number): boolean {
    const max = this.options.maxQueued;
    if (max > 0 && queued >= max && !this.options.isAttached(clientId)) {
      const dropped = (this.bursts.get(clientId) ?? 0) + 1;
      this.bursts.set(clientId, dropped);
      this.droppedTotal++;
      if (dropped === 1) {
        this.options.log.warn(
          { clientId: boundedText(clientId, MAX_LOGGED_NAME_CHARS), limit: 'max_queued_messages', max, queued },
          'mqtt offline session queue full: broker.limits.max_queued_messages reached; newer messages for it are dropped',
        );
      }
      return false;
    }
    this.endBurst(clientId);
    return true;
  }

  emptied(clientId: string): void {
    this.endBurst(clientId);
  }

  private endBurst(clientId: string): void {
    const dropped = this.bursts.get(clientId);
    if (dropped === undefined) return;
    this.bursts.delete(clientId);
    this.options.log.info(
      { clientId: boundedText(clientId, MAX_LOGGED_NAME_CHARS), limit: 'max_queued_messages', dropped },
      'mqtt offline session queue accepting messages again',
    );
  }
}
