// MQTT-3.3.1-1 / MQTT-3.3.1-3: a PUBLISH the server sends again after a reconnect carries DUP=1,
// and DUP is set by whether that outgoing packet is a retransmission, not copied from the
// publisher. aedes 1.2.0 resends the offline queue with the publisher's DUP flag. In its
// persistence, a queued packet has a packet identifier only once it has been sent (outgoingUpdate),
// so the queue stream is rewritten: DUP=1 exactly for packets that were sent before.
import { Transform, type Readable } from 'node:stream';

interface QueuedPacket {
  cmd?: string;
  messageId?: number;
  dup?: boolean;
}

interface OutgoingStreamOwner {
  outgoingStream(client: unknown): Readable;
}

function hasOutgoingStream(p: unknown): p is OutgoingStreamOwner {
  return typeof p === 'object' && p !== null && typeof (p as OutgoingStreamOwner).outgoingStream === 'function';
}

export function markResentDup(persistence: unknown): boolean {
  if (!hasOutgoingStream(persistence)) return false;
  const original = persistence.outgoingStream.bind(persistence);
  persistence.outgoingStream = (client: unknown) => {
    const marked = new Transform({
      objectMode: true,
      transform(packet: QueuedPacket, _encoding, callback) {
        if (packet?.cmd === 'publish') callback(null, { ...packet, dup: packet.messageId !== undefined });
        else callback(null, packet);
      },
    });
    const source = original(client);
    source.on('error', (err) => marked.destroy(err));
    return source.pipe(marked);
  };
  return true;
}
