// A loopback TCP relay between the gateway's cloud link and the cloud broker that reads the MQTT
// packets going through: what the CONNECT asked for, and how many QoS 1 PUBLISHes the client had
// sent that it had not yet been given the PUBACK of. The broker's answers can be held back a little
// (`ackDelayMs`) so that a client that ignores the broker's Receive Maximum would show it.
import { connect, createServer, type Server, type Socket } from 'node:net';

export interface ConnectSeen {
  protocolLevel: number;
  cleanStart: boolean;
  /** MQTT 5 CONNECT properties by name (only those the relay knows; see PROPERTY_SIZES). */
  properties: Record<string, number>;
}

export interface WireTap {
  port: number;
  url: string;
  connects: ConnectSeen[];
  /** Most QoS 1 PUBLISHes from the client awaiting a PUBACK delivered to it, at one time. */
  maxOutstanding: number;
  publishes: number;
  /** Cut every connection at once, without DISCONNECT (a dead link: the broker sends the will). */
  cut(): void;
  close(): Promise<void>;
}

/** Fixed-size and string-valued CONNECT properties (MQTT 5 section 3.1.2.11). */
const PROPERTIES: Record<number, { name: string; size: number | 'string' | 'pair' | 'binary' }> = {
  0x11: { name: 'sessionExpiryInterval', size: 4 },
  0x21: { name: 'receiveMaximum', size: 2 },
  0x27: { name: 'maximumPacketSize', size: 4 },
  0x22: { name: 'topicAliasMaximum', size: 2 },
  0x19: { name: 'requestResponseInformation', size: 1 },
  0x17: { name: 'requestProblemInformation', size: 1 },
  0x26: { name: 'userProperty', size: 'pair' },
  0x15: { name: 'authenticationMethod', size: 'string' },
  0x16: { name: 'authenticationData', size: 'binary' },
};

function readVarint(buf: Buffer, at: number): { value: number; next: number } | undefined {
  let value = 0;
  for (let i = 0; i < 4; i++) {
    if (at + i >= buf.length) return undefined;
    const byte = buf[at + i];
    value += (byte & 0x7f) * 128 ** i;
    if ((byte & 0x80) === 0) return { value, next: at + i + 1 };
  }
  throw new Error('malformed remaining length');
}

/** Splits a byte stream into whole MQTT packets (MQTT 5 section 2.1). */
class Framer {
  private buffer = Buffer.alloc(0);

  push(chunk: Buffer): Buffer[] {
    this.buffer = Buffer.concat([this.buffer, chunk]);
    const packets: Buffer[] = [];
    for (;;) {
      const length = this.buffer.length >= 2 ? readVarint(this.buffer, 1) : undefined;
      if (!length || this.buffer.length < length.next + length.value) return packets;
      packets.push(this.buffer.subarray(0, length.next + length.value));
      this.buffer = this.buffer.subarray(length.next + length.value);
    }
  }
}

function body(packet: Buffer): Buffer {
  return packet.subarray(readVarint(packet, 1)!.next);
}

function parseConnect(packet: Buffer): ConnectSeen {
  const b = body(packet);
  const nameLength = b.readUInt16BE(0);
  let at = 2 + nameLength;
  const protocolLevel = b[at];
  const flags = b[at + 1];
  at += 4; // level, flags, keep alive
  const properties: Record<string, number> = {};
  if (protocolLevel === 5) {
    const length = readVarint(b, at)!;
    let p = length.next;
    const end = length.next + length.value;
    while (p < end) {
      const known = PROPERTIES[b[p]];
      if (!known) throw new Error(`unknown CONNECT property 0x${b[p].toString(16)}`);
      p++;
      if (typeof known.size === 'number') {
        properties[known.name] = b.readUIntBE(p, known.size);
        p += known.size;
      } else {
        const strings = known.size === 'pair' ? 2 : 1;
        for (let i = 0; i < strings; i++) p += 2 + b.readUInt16BE(p);
        properties[known.name] = (properties[known.name] ?? 0) + 1;
      }
    }
  }
  return { protocolLevel, cleanStart: (flags & 0x02) !== 0, properties };
}

/** Packet identifier of a QoS 1 PUBLISH, or undefined for QoS 0. */
function publishId(packet: Buffer): number | undefined {
  if (((packet[0] >> 1) & 0x03) === 0) return undefined;
  const b = body(packet);
  return b.readUInt16BE(2 + b.readUInt16BE(0));
}

export async function wireTap(targetPort: number, opts: { ackDelayMs?: number } = {}): Promise<WireTap> {
  const sockets = new Set<Socket>();
  const outstanding = new Set<number>();
  const tap: WireTap = {
    port: 0,
    url: '',
    connects: [],
    maxOutstanding: 0,
    publishes: 0,
    cut: () => {
      for (const s of sockets) s.destroy();
    },
    close: async () => undefined,
  };
  const server: Server = createServer((client) => {
    client.setNoDelay(true);
    const broker = connect({ host: '127.0.0.1', port: targetPort });
    broker.setNoDelay(true);
    for (const s of [client, broker]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => undefined);
    }
    outstanding.clear();
    const up = new Framer();
    const down = new Framer();
    client.on('data', (chunk: Buffer) => {
      for (const packet of up.push(chunk)) {
        const type = packet[0] >> 4;
        if (type === 1) tap.connects.push(parseConnect(packet));
        if (type === 3) {
          tap.publishes++;
          const id = publishId(packet);
          if (id !== undefined) outstanding.add(id);
          tap.maxOutstanding = Math.max(tap.maxOutstanding, outstanding.size);
        }
      }
      broker.write(chunk);
    });
    const deliver = (chunk: Buffer) => {
      if (client.destroyed) return;
      // Counted when the client is given it: from then on it may send the next one.
      for (const packet of down.push(chunk)) if (packet[0] >> 4 === 4) outstanding.delete(body(packet).readUInt16BE(0));
      client.write(chunk);
    };
    broker.on('data', (chunk: Buffer) => (opts.ackDelayMs ? setTimeout(() => deliver(chunk), opts.ackDelayMs) : deliver(chunk)));
    client.on('close', () => broker.destroy());
    broker.on('close', () => setTimeout(() => client.destroy(), opts.ackDelayMs ?? 0));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  tap.port = (server.address() as { port: number }).port;
  tap.url = `mqtt://127.0.0.1:${tap.port}`;
  tap.close = () =>
    new Promise<void>((resolve) => {
      tap.cut();
      server.close(() => resolve());
    });
  return tap;
}
