// The messages stored for each persistent session, in the order it is to receive them: queued
// while it is away, or sent and awaiting PUBACK (QoS 1) or PUBREC/PUBCOMP (QoS 2). A message is
// found again by what aedes knows of it at each step:
// - sending it (outgoingUpdate with a PUBLISH): by brokerId and brokerCounter, which number every
//   message of one broker instance once; it gets its packet identifier;
// - PUBREC (outgoingUpdate with a PUBREL): by packet identifier; the stored PUBLISH becomes a PUBREL
//   of its own. aedes-persistence's memory store kept the caller's PUBREL object and matched the
//   next PUBREL against it (both have no brokerId), renumbering the first PUBREL to the second's
//   identifier: a session's first PUBREC could be answered with the next message's PUBREL;
// - PUBACK/PUBCOMP (outgoingClearMessageId): by packet identifier; a message aedes will not send
//   (no identifier) by brokerId and brokerCounter, among those not sent yet.
import type { QueuedMessage, StoredPacket } from './durable-state.js';

function sameMessage(a: StoredPacket, b: StoredPacket): boolean {
  return a.brokerId !== undefined && a.brokerId === b.brokerId && a.brokerCounter === b.brokerCounter;
}

export class OutgoingQueues {
  private readonly queues = new Map<string, QueuedMessage[]>();
  private total = 0;

  /** Messages stored for all sessions. */
  get size(): number {
    return this.total;
  }

  sizeOf(clientId: string): number {
    return this.queues.get(clientId)?.length ?? 0;
  }

  clientIds(): IterableIterator<string> {
    return this.queues.keys();
  }

  push(entry: QueuedMessage): void {
    let queue = this.queues.get(entry.clientId);
    if (!queue) this.queues.set(entry.clientId, (queue = []));
    queue.push(entry);
    this.total++;
  }

  /** Copies of the stored packets, in order. */
  packets(clientId: string): StoredPacket[] {
    return (this.queues.get(clientId) ?? []).map((entry) => ({ ...entry.packet }));
  }

  /** The entry `packet` (a PUBLISH being sent, or a PUBREL) refers to; undefined when none. */
  findForUpdate(clientId: string, packet: StoredPacket): QueuedMessage | undefined {
    const queue = this.queues.get(clientId);
    if (!queue) return undefined;
    if (packet.cmd === 'pubrel') return queue.find((entry) => entry.packet.messageId === packet.messageId);
    return queue.find((entry) => sameMessage(entry.packet, packet));
  }

  /** Removes and returns the entry a PUBACK or PUBCOMP (or an unsendable PUBLISH) refers to. */
  take(clientId: string, packet: StoredPacket | undefined): QueuedMessage | undefined {
    const queue = this.queues.get(clientId);
    if (!queue || typeof packet !== 'object' || packet === null) return undefined;
    let index: number;
    if (typeof packet.messageId === 'number') {
      index = queue.findIndex((entry) => entry.packet.messageId === packet.messageId);
    } else {
      // Several copies of one message are stored when two subscriptions of the session match it:
      // the last unsent one goes, the first may be on its way.
      index = queue.length - 1;
      while (index >= 0 && !(queue[index].packet.messageId === undefined && sameMessage(queue[index].packet, packet))) index--;
    }
    return index < 0 ? undefined : this.removeAt(clientId, queue, index);
  }

  /** Removes one entry by seq (a failed store). */
  remove(clientId: string, seq: number): void {
    const queue = this.queues.get(clientId);
    const index = queue?.findIndex((entry) => entry.seq === seq) ?? -1;
    if (queue && index >= 0) this.removeAt(clientId, queue, index);
  }

  /** Removes every message of a session; returns how many there were. */
  clear(clientId: string): number {
    const removed = this.sizeOf(clientId);
    this.queues.delete(clientId);
    this.total -= removed;
    return removed;
  }

  private removeAt(clientId: string, queue: QueuedMessage[], index: number): QueuedMessage {
    const [entry] = queue.splice(index, 1);
    this.total--;
    if (queue.length === 0) this.queues.delete(clientId);
    return entry;
  }
}
