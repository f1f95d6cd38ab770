// Tracks the packet identifiers of the QoS 1 and 2 PUBLISH packets the server has written to one
// client and that the client has not yet acknowledged (MQTT-2.3.1-2, MQTT-2.3.1-4: an identifier
// stays in use until PUBACK, or PUBCOMP for QoS 2). aedes 1.2.0 allocates identifiers by counting
// and reuses one still in use after 65535 sends; the guard feeds the allocator from here.
const PUBLISH = 3;
export const PACKET_ID_SPACE = 65535;

/** Reads outgoing bytes as they are written, without buffering packet bodies. */
export class OutboundPacketIds {
  private readonly inUse = new Set<number>();
  private head: number[] = [];
  private skip = 0;

  get size(): number {
    return this.inUse.size;
  }

  has(id: number): boolean {
    return this.inUse.has(id);
  }

  /** PUBACK or PUBCOMP received from the client. */
  release(id: number): void {
    this.inUse.delete(id);
  }

  /** Call with every chunk written to the client, in order. */
  written(chunk: Buffer): void {
    let i = 0;
    while (i < chunk.length) {
      if (this.skip > 0) {
        const n = Math.min(this.skip, chunk.length - i);
        this.skip -= n;
        i += n;
        continue;
      }
      this.head.push(chunk[i++]);
      this.parseHead();
    }
  }

  private parseHead(): void {
    const h = this.head;
    if (h.length < 2) return;
    let remaining = 0;
    let multiplier = 1;
    let headerBytes = 0;
    for (let k = 1; k <= 4 && k < h.length; k++) {
      remaining += (h[k] & 0x7f) * multiplier;
      multiplier *= 128;
      if ((h[k] & 0x80) === 0) {
        headerBytes = k + 1;
        break;
      }
    }
    if (headerBytes === 0) return; // remaining length not complete yet
    const type = h[0] >> 4;
    const qos = (h[0] >> 1) & 0x03;
    if (type === PUBLISH && qos > 0) {
      // topic length (2), topic, packet identifier (2)
      if (h.length < headerBytes + 2) return;
      const topicLength = (h[headerBytes] << 8) | h[headerBytes + 1];
      const idAt = headerBytes + 2 + topicLength;
      if (h.length < idAt + 2) return;
      this.inUse.add((h[idAt] << 8) | h[idAt + 1]);
    }
    this.skip = remaining - (h.length - headerBytes);
    this.head = [];
  }
}
