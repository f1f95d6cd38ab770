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
 *
 * A partial packet is kept as a list of chunks and joined once, when its last byte has arrived:
 * joining on every read would copy the buffered part again for each chunk, so a client dripping a
 * large packet a few bytes at a time would cost the broker quadratic work.
 */
export class FrameSplitter {
  private chunks: Buffer[] = [];
  private buffered = 0;
  /** Bytes the partial packet needs before it can complete; 0 while its header is incomplete. */
  private needed = 0;

  constructor(private readonly maxPacketBytes: number) {}

  push(chunk: Buffer): MqttFrame[] {
    if (chunk.length === 0) return [];
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    if (this.buffered < this.needed) return [];
    const data = this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks, this.buffered);
    const frames: MqttFrame[] = [];
    let offset = 0;
    this.needed = 0;
    for (;;) {
      const header = this.readHeader(data, offset);
      if (header === null) break;
      const end = offset + header.headerBytes + header.remaining;
      if (end > data.length) {
        this.needed = end - offset;
        break;
      }
      const raw = data.subarray(offset, end);
      const first = raw[0];
      frames.push({ type: first >> 4, flags: first & 0x0f, body: raw.subarray(header.headerBytes), raw });
      offset = end;
    }
    // Keep only the incomplete tail; copy it so the consumed bytes can be collected.
    const tail = offset === 0 ? data : Buffer.from(data.subarray(offset));
    this.chunks = tail.length === 0 ? [] : [tail];
    this.buffered = tail.length;
    return frames;
  }

  private readHeader(buf: Buffer, offset: number): { headerBytes: number; remaining: number } | null {
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
