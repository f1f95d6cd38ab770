// Splits a byte stream into MQTT control packets (MQTT 3.1.1 section 2.2) without decoding them.

export interface MqttFrame {
  /** Packet type, the high nibble of the first byte (MQTT 3.1.1 section 2.2.1). */
  type: number;
  /** Low nibble of the first byte (section 2.2.2). */
  flags: number;
  /** Variable header and payload. */
  body: Buffer;
  /** The whole packet, fixed header included, exactly as received. */
  raw: Buffer;
}

export class FrameError extends Error {
  constructor(
    readonly clause: string,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Accumulates bytes and returns the complete packets. Throws FrameError for a remaining length
 * encoded in more than four bytes (MQTT 3.1.1 section 2.2.3) or larger than `maxPacketBytes`,
 * before the packet body has been buffered.
 */
export class FrameSplitter {
  private pending: Buffer = Buffer.alloc(0);

  constructor(private readonly maxPacketBytes: number) {}

  push(chunk: Buffer): MqttFrame[] {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    const frames: MqttFrame[] = [];
    let offset = 0;
    for (;;) {
      const header = this.readHeader(offset);
      if (header === null) break;
      const end = offset + header.headerBytes + header.remaining;
      if (end > this.pending.length) break;
      const raw = this.pending.subarray(offset, end);
      const first = raw[0];
      frames.push({ type: first >> 4, flags: first & 0x0f, body: raw.subarray(header.headerBytes), raw });
      offset = end;
    }
    // Keep only the incomplete tail; copy it so the consumed chunk can be collected.
    this.pending = offset === 0 ? this.pending : Buffer.from(this.pending.subarray(offset));
    return frames;
  }

  private readHeader(offset: number): { headerBytes: number; remaining: number } | null {
    const buf = this.pending;
    let remaining = 0;
    let multiplier = 1;
    for (let i = 1; i <= 4; i++) {
      if (offset + i >= buf.length) return null;
      const byte = buf[offset + i];
      remaining += (byte & 0x7f) * multiplier;
      if ((byte & 0x80) === 0) {
        const headerBytes = i + 1;
        if (headerBytes + remaining > this.maxPacketBytes) {
          throw new FrameError('limit', `packet of ${headerBytes + remaining} bytes exceeds the ${this.maxPacketBytes}-byte limit`);
        }
        return { headerBytes, remaining };
      }
      multiplier *= 128;
    }
    throw new FrameError('2.2.3', 'remaining length encoded in more than four bytes');
  }
}
