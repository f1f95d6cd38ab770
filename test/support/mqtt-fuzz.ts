// A seeded MQTT 3.1.1 frame fuzzer for hostile-input tests: a PRNG whose seed is printed (and can be
// forced with GATEHOUSE_FUZZ_SEED), builders for valid and deliberately broken packets, a mutator,
// a generator of per-connection byte streams, and a runner that plays one stream over any Duplex
// (each broker listener, TCP, TLS or WebSocket, is one FuzzTransport).
import { randomBytes } from 'node:crypto';
import type { Duplex } from 'node:stream';

// ---------------------------------------------------------------------------------------------
// Seeds and the PRNG

/** splitmix32 step: spreads a 32-bit value; used to derive independent per-case seeds. */
function splitmix32(x: number): number {
  x = (x + 0x9e3779b9) | 0;
  let z = x;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

/** sfc32: small, fast, and good enough for test input; identical output for an identical seed. */
export class Prng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number) {
    this.a = splitmix32(seed);
    this.b = splitmix32(this.a);
    this.c = splitmix32(this.b);
    this.d = 1;
    for (let i = 0; i < 12; i++) this.uint32();
  }

  uint32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** [0, 1) */
  float(): number {
    return this.uint32() / 4294967296;
  }

  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.float() * n);
  }

  /** An integer in [min, max]. */
  range(min: number, max: number): number {
    return min + this.int(max - min + 1);
  }

  chance(p: number): boolean {
    return this.float() < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)];
  }

  /** Picks by weight: [[weight, value], ...]. */
  weighted<T>(entries: readonly (readonly [number, T])[]): T {
    const total = entries.reduce((sum, [w]) => sum + w, 0);
    let roll = this.float() * total;
    for (const [w, value] of entries) {
      roll -= w;
      if (roll < 0) return value;
    }
    return entries[entries.length - 1][1];
  }

  bytes(n: number): Buffer {
    const out = Buffer.alloc(n);
    for (let i = 0; i < n; i++) out[i] = this.uint32() & 0xff;
    return out;
  }

  /** Printable ASCII of length n. */
  ascii(n: number): string {
    let s = '';
    for (let i = 0; i < n; i++) s += String.fromCharCode(this.range(0x21, 0x7e));
    return s;
  }
}

/** The seed of case `index` in a run seeded with `seed`: each case replays on its own. */
export function caseSeed(seed: number, index: number): number {
  return splitmix32(splitmix32(seed) ^ Math.imul(index + 1, 0x27d4eb2d));
}

export const SEED_ENV = 'GATEHOUSE_FUZZ_SEED';

/**
 * The run's seed: GATEHOUSE_FUZZ_SEED (decimal or 0x hex) when set, a random one otherwise.
 * Printed either way, so a failure can be replayed.
 */
export function fuzzSeed(label: string, env: NodeJS.ProcessEnv = process.env): number {
  const forced = env[SEED_ENV];
  let seed: number;
  if (forced !== undefined && forced !== '') {
    seed = Number(forced);
    if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) {
      throw new Error(`${SEED_ENV}=${forced} is not an integer from 0 to 4294967295`);
    }
  } else {
    seed = randomBytes(4).readUInt32BE(0);
  }
  console.log(`[fuzz] ${label}: seed ${seed}${forced ? ` (from ${SEED_ENV})` : ''}; replay with ${SEED_ENV}=${seed}`);
  return seed;
}

// ---------------------------------------------------------------------------------------------
// MQTT 3.1.1 encoding, including encodings the spec forbids

/** Remaining Length, MQTT 3.1.1 section 2.2.3 (minimal encoding). */
export function varint(n: number): Buffer {
  const out: number[] = [];
  do {
    let byte = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) byte |= 0x80;
    out.push(byte);
  } while (n > 0);
  return Buffer.from(out);
}

/** The same value spread over `bytes` bytes with continuation bits: non-minimal, or past 4 bytes. */
export function paddedVarint(n: number, bytes: number): Buffer {
  const out = [...varint(n)];
  out[out.length - 1] |= 0x80;
  while (out.length < bytes - 1) out.push(0x80);
  out.push(0x00);
  return Buffer.from(out);
}

export function u16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n & 0xffff);
  return b;
}

/** A length-prefixed string (section 1.5.3); Buffers are taken as raw, possibly ill-formed, bytes. */
export function mqttString(s: string | Buffer): Buffer {
  const body = typeof s === 'string' ? Buffer.from(s, 'utf8') : s;
  return Buffer.concat([u16(body.length), body]);
}

/** A packet: first byte, Remaining Length (the real one unless `length` overrides it), body. */
export function packet(firstByte: number, body: Buffer, length?: Buffer): Buffer {
  return Buffer.concat([Buffer.from([firstByte & 0xff]), length ?? varint(body.length), body]);
}

export interface ConnectSpec {
  clientId: string | Buffer;
  clean?: boolean;
  keepalive?: number;
  will?: { topic: string | Buffer; payload: Buffer; qos: number; retain: boolean };
  username?: string | Buffer;
  password?: Buffer;
  protocolName?: string | Buffer;
  protocolLevel?: number;
  /** Overrides the computed flags byte. */
  flags?: number;
}

export function connect(c: ConnectSpec): Buffer {
  let flags = 0;
  if (c.clean ?? true) flags |= 0x02;
  if (c.will) flags |= 0x04 | ((c.will.qos & 3) << 3) | (c.will.retain ? 0x20 : 0);
  if (c.password !== undefined) flags |= 0x40;
  if (c.username !== undefined) flags |= 0x80;
  const parts = [mqttString(c.protocolName ?? 'MQTT'), Buffer.from([c.protocolLevel ?? 4, c.flags ?? flags]), u16(c.keepalive ?? 0), mqttString(c.clientId)];
  if (c.will) parts.push(mqttString(c.will.topic), mqttString(c.will.payload));
  if (c.username !== undefined) parts.push(mqttString(c.username));
  if (c.password !== undefined) parts.push(mqttString(c.password));
  return packet(0x10, Buffer.concat(parts));
}

export function publish(p: { topic: string | Buffer; payload?: Buffer; qos?: number; retain?: boolean; dup?: boolean; messageId?: number }): Buffer {
  const qos = p.qos ?? 0;
  const first = 0x30 | (p.dup ? 0x08 : 0) | ((qos & 3) << 1) | (p.retain ? 0x01 : 0);
  const parts = [mqttString(p.topic)];
  if (qos > 0) parts.push(u16(p.messageId ?? 1));
  parts.push(p.payload ?? Buffer.alloc(0));
  return packet(first, Buffer.concat(parts));
}

export function subscribe(messageId: number, subs: { filter: string | Buffer; qos: number }[], firstByte = 0x82): Buffer {
  return packet(firstByte, Buffer.concat([u16(messageId), ...subs.flatMap((s) => [mqttString(s.filter), Buffer.from([s.qos & 0xff])])]));
}

export function unsubscribe(messageId: number, filters: (string | Buffer)[], firstByte = 0xa2): Buffer {
  return packet(firstByte, Buffer.concat([u16(messageId), ...filters.map((f) => mqttString(f))]));
}

export const ack = (firstByte: number, messageId: number): Buffer => packet(firstByte, u16(messageId));
export const PINGREQ = Buffer.from([0xc0, 0x00]);
export const DISCONNECT = Buffer.from([0xe0, 0x00]);

/** Byte sequences that are not well-formed UTF-8, or are forbidden in MQTT strings (section 1.5.3). */
export const BAD_UTF8: readonly Buffer[] = [
  Buffer.from([0xff]), // never valid
  Buffer.from([0xc0, 0x80]), // overlong U+0000
  Buffer.from([0xe0, 0x80, 0xaf]), // overlong '/'
  Buffer.from([0xed, 0xa0, 0x80]), // U+D800, a surrogate (MQTT-1.5.3-1)
  Buffer.from([0xed, 0xbf, 0xbf]), // U+DFFF
  Buffer.from([0xf4, 0x90, 0x80, 0x80]), // past U+10FFFF
  Buffer.from([0xe2, 0x82]), // truncated 3-byte sequence
  Buffer.from([0xc3]), // lone lead byte
  Buffer.from([0x80]), // lone continuation byte
  Buffer.from([0xf8, 0x88, 0x80, 0x80, 0x80]), // 5-byte form
  Buffer.from([0x00]), // U+0000 (MQTT-1.5.3-2)
];

/** A string with a bad sequence spliced into otherwise ordinary text. */
export function badUtf8(rng: Prng, base = 'fuzz/t'): Buffer {
  const text = Buffer.from(base);
  const at = rng.int(text.length + 1);
  return Buffer.concat([text.subarray(0, at), rng.pick(BAD_UTF8), text.subarray(at)]);
}

// ---------------------------------------------------------------------------------------------
// Mutation

const INTERESTING = [0x00, 0x01, 0x02, 0x0f, 0x10, 0x20, 0x2f, 0x7f, 0x80, 0x81, 0xc0, 0xfe, 0xff];

/**
 * Applies `count` random edits: bit flip, byte overwrite, insert, delete, range duplication, a
 * splice from a donor, truncation. Never returns an empty buffer for a non-empty input.
 */
export function mutate(rng: Prng, input: Buffer, donors: readonly Buffer[], count: number): Buffer {
  let b = Buffer.from(input);
  for (let n = 0; n < count; n++) {
    if (b.length === 0) b = Buffer.from([rng.pick(INTERESTING)]);
    const at = rng.int(b.length);
    switch (rng.int(8)) {
      case 0:
        b[at] ^= 1 << rng.int(8);
        break;
      case 1:
        b[at] = rng.pick(INTERESTING);
        break;
      case 2:
        b = Buffer.concat([b.subarray(0, at), rng.bytes(rng.range(1, 4)), b.subarray(at)]);
        break;
      case 3:
        b = Buffer.concat([b.subarray(0, at), b.subarray(Math.min(b.length, at + rng.range(1, 4)))]);
        break;
      case 4: {
        const end = Math.min(b.length, at + rng.range(1, 16));
        b = Buffer.concat([b.subarray(0, end), b.subarray(at, end), b.subarray(end)]);
        break;
      }
      case 5: {
        const donor = donors.length > 0 ? rng.pick(donors) : b;
        const from = rng.int(donor.length);
        const piece = donor.subarray(from, from + rng.range(1, 32));
        b = Buffer.concat([b.subarray(0, at), piece, b.subarray(at + (rng.chance(0.5) ? piece.length : 0))]);
        break;
      }
      case 6:
        // Remaining-length bytes are at offset 1: hit them on purpose now and then.
        if (b.length > 1) b[1] = rng.pick(INTERESTING);
        break;
      default:
        if (b.length > 1) b = b.subarray(0, rng.range(1, b.length - 1));
    }
  }
  return b.length === 0 ? Buffer.from([0x00]) : b;
}

// ---------------------------------------------------------------------------------------------
// Cases: one connection's byte stream each

export interface FuzzOptions {
  /** The broker's packet size limit (limits.maxPacketBytes). */
  maxPacketBytes: number;
  /** The broker's topic level limit. */
  maxTopicLevels: number;
  /** Prefix of every client id, so fuzz sessions are recognisable. */
  clientIdPrefix: string;
  /** Login used by a few cases (costs a password hash on the server). */
  login?: { username: string; password: string };
}

export interface FuzzCase {
  index: number;
  seed: number;
  category: string;
  /** The bytes sent, in the writes they are sent in. */
  writes: Buffer[];
  /** How many packets the generator composed (before mutation). */
  frames: number;
  /** After the last write: half-close and wait for the server to close ('fin'), or reset ('reset'). */
  finish: 'fin' | 'reset';
  /** Wait for a first reply (or a close) before finishing, so the server acts on a complete stream. */
  awaitReply: boolean;
}

const TOPICS = ['fuzz/a', 'fuzz/b/c', 'fuzz/deep/1/2/3', '$SYS/fuzz', 'fuzz/wills', 'chat/x', 'x'];
const FILTERS = ['fuzz/#', 'fuzz/+/c', '#', '+/+', '$SYS/#', 'fuzz/a', 'chat/+', 'nothing/here'];
const WILDCARD_TOPICS = ['fuzz/+', 'fuzz/#', '#', '+', 'a/+/b', 'fuzz/a#', '+fuzz'];

class Session {
  readonly packets: Buffer[] = [];

  constructor(
    private readonly rng: Prng,
    private readonly opts: FuzzOptions,
    private readonly clientId: string,
  ) {}

  connect(overrides: Partial<ConnectSpec> = {}): this {
    const rng = this.rng;
    const spec: ConnectSpec = { clientId: this.clientId, clean: true, keepalive: rng.pick([0, 0, 5, 60, 65535]) };
    if (rng.chance(0.2)) spec.will = { topic: 'fuzz/wills', payload: rng.bytes(rng.int(16)), qos: rng.int(3), retain: rng.chance(0.2) };
    if (this.opts.login && rng.chance(0.02)) {
      spec.username = this.opts.login.username;
      spec.password = Buffer.from(rng.chance(0.7) ? this.opts.login.password : 'wrong');
    }
    this.packets.push(connect({ ...spec, ...overrides }));
    return this;
  }

  traffic(count: number): this {
    const rng = this.rng;
    for (let i = 0; i < count; i++) {
      const id = rng.range(1, 65535);
      this.packets.push(
        rng.weighted<() => Buffer>([
          [4, () => publish({ topic: rng.pick(TOPICS), payload: rng.bytes(rng.int(48)), qos: rng.int(3), retain: rng.chance(0.05), messageId: id })],
          [2, () => subscribe(id, Array.from({ length: rng.range(1, 3) }, () => ({ filter: rng.pick(FILTERS), qos: rng.int(3) })))],
          [1, () => unsubscribe(id, [rng.pick(FILTERS)])],
          [1, () => PINGREQ],
          [1, () => ack(rng.pick([0x40, 0x50, 0x62, 0x70]), id)],
        ])(),
      );
    }
    return this;
  }

  push(...packets: Buffer[]): this {
    this.packets.push(...packets);
    return this;
  }

  bytes(): Buffer {
    return Buffer.concat(this.packets);
  }
}

type Generator = (rng: Prng, s: Session, opts: FuzzOptions) => Buffer;

function longTopic(rng: Prng, levels: number): string {
  return Array.from({ length: levels }, () => rng.pick(['a', 'bb', 'level', '0'])).join('/');
}

/** Each generator returns the whole byte stream of one connection. */
const GENERATORS: Record<string, readonly [number, Generator]> = {
  'valid-session': [6, (rng, s) => s.connect().traffic(rng.range(0, 6)).push(...(rng.chance(0.5) ? [DISCONNECT] : [])).bytes()],
  'mutated-session': [24, (rng, s) => mutate(rng, s.connect().traffic(rng.range(0, 5)).bytes(), TEMPLATE_DONORS, rng.range(1, 8))],
  'mutated-connect': [8, (rng, s) => mutate(rng, s.connect().bytes(), TEMPLATE_DONORS, rng.range(1, 4))],
  'truncated': [6, (rng, s) => {
    const all = s.connect().traffic(rng.range(0, 4)).bytes();
    return all.subarray(0, rng.range(1, all.length - 1));
  }],
  'random-bytes': [5, (rng, s) => {
    const noise = rng.bytes(rng.range(1, rng.chance(0.1) ? 4096 : 256));
    return rng.chance(0.5) ? Buffer.concat([s.connect().bytes(), noise]) : noise;
  }],
  'remaining-length': [6, (rng, s) => {
    const body = Buffer.concat([mqttString(rng.pick(TOPICS)), rng.bytes(rng.int(20))]);
    const length = rng.weighted<() => Buffer>([
      [2, () => paddedVarint(body.length, 5)], // five bytes (section 2.2.3 allows four)
      [1, () => Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f])],
      [2, () => paddedVarint(body.length, rng.range(2, 4))], // non-minimal but within four bytes
      [2, () => varint(body.length + rng.range(1, 10_000))], // longer than the data sent
      [2, () => varint(Math.max(0, body.length - rng.range(1, body.length)))], // shorter: the rest is a new packet
      [1, () => Buffer.from(Array.from({ length: rng.range(1, 3) }, () => 0x80))], // never terminated
    ])();
    const bad = packet(0x30 | (rng.int(3) << 1), body, length);
    return rng.chance(0.8) ? Buffer.concat([s.connect().bytes(), bad]) : Buffer.concat([packet(0x10, body, length)]);
  }],
  'oversized-declared': [3, (rng, s, opts) => {
    const declared = rng.range(opts.maxPacketBytes, 268_435_455);
    const header = Buffer.concat([Buffer.from([rng.pick([0x10, 0x30, 0x32, 0x82])]), varint(declared)]);
    return Buffer.concat([rng.chance(0.7) ? s.connect().bytes() : Buffer.alloc(0), header, rng.bytes(rng.int(64))]);
  }],
  'oversized-actual': [0.3, (rng, s, opts) => {
    const over = rng.chance(0.7);
    const payload = Buffer.alloc(opts.maxPacketBytes - (over ? 0 : 64) + (over ? rng.range(1, 1000) : 0), 0x61);
    return Buffer.concat([s.connect().bytes(), publish({ topic: 'fuzz/big', payload, qos: rng.int(2), messageId: 7 })]);
  }],
  'bad-utf8': [8, (rng, s) => {
    const bad = badUtf8(rng, rng.pick(['fuzz/t', 'client', 'a']));
    return rng.weighted<() => Buffer>([
      [2, () => s.connect({ clientId: bad }).bytes()],
      [1, () => s.connect({ will: { topic: bad, payload: Buffer.from('w'), qos: 0, retain: false } }).bytes()],
      [1, () => s.connect({ username: bad, password: Buffer.from('x') }).bytes()],
      [1, () => s.connect({ protocolName: Buffer.concat([Buffer.from('MQ'), rng.pick(BAD_UTF8), Buffer.from('TT')]) }).bytes()],
      [3, () => s.connect().traffic(rng.int(2)).push(publish({ topic: bad, payload: rng.bytes(8), qos: rng.int(3), messageId: 9 })).bytes()],
      [2, () => s.connect().push(subscribe(3, [{ filter: bad, qos: rng.int(3) }])).bytes()],
      [1, () => s.connect().push(unsubscribe(3, [bad])).bytes()],
    ])();
  }],
  'publish-wildcard': [3, (rng, s) => s.connect().push(publish({ topic: rng.pick(WILDCARD_TOPICS), payload: Buffer.from('w'), qos: rng.int(3), messageId: 5 })).bytes()],
  'qos3': [3, (rng, s) =>
    rng.weighted<() => Buffer>([
      [2, () => s.connect().push(publish({ topic: 'fuzz/a', payload: Buffer.from('q3'), qos: 3, messageId: 4, retain: rng.chance(0.5) })).bytes()],
      [1, () => s.connect().push(subscribe(4, [{ filter: 'fuzz/#', qos: rng.pick([3, 4, 0x80, 0xff]) }])).bytes()],
      [1, () => s.connect({ will: { topic: 'fuzz/wills', payload: Buffer.from('w'), qos: 3, retain: false } }).bytes()],
    ])(),
  ],
  'reserved-flags': [5, (rng, s) => {
    // Section 2.2.2: fixed flags per packet type; types 0 and 15 are reserved; CONNACK, SUBACK,
    // UNSUBACK and PINGRESP only go from server to client.
    const type = rng.pick([0, 1, 2, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]);
    const flags = rng.int(16);
    const bad = packet((type << 4) | flags, rng.chance(0.5) ? u16(rng.range(1, 9)) : Buffer.alloc(rng.int(3)));
    if (rng.chance(0.2)) return s.connect({ flags: 0x03 }).bytes(); // reserved CONNECT flag bit 0 (MQTT-3.1.2-3)
    return Buffer.concat([s.connect().bytes(), bad]);
  }],
  'protocol': [5, (rng, s) =>
    rng.weighted<() => Buffer>([
      [2, () => s.connect({ protocolLevel: rng.pick([0, 1, 2, 3, 5, 6, 0x83, 0x84, 0xff, rng.int(256)]) }).bytes()],
      [2, () => s.connect({ protocolName: rng.pick(['MQIsdp', 'MQTX', 'mqtt', '', 'MQTTT', 'MQ', rng.ascii(rng.range(1, 12))]), protocolLevel: rng.pick([3, 4, 5]) }).bytes()],
      // An MQTT 5 CONNECT with properties: its layout differs from 3.1.1 after the keep alive.
      [1, () => packet(0x10, Buffer.concat([mqttString('MQTT'), Buffer.from([5, 0x02]), u16(30), Buffer.from([5, 0x11, 0, 0, 0, 10]), mqttString('v5')]))],
    ])(),
  ],
  'before-connect': [4, (rng, s) => {
    const first = rng.pick([
      publish({ topic: 'fuzz/a', payload: Buffer.from('early'), qos: rng.int(3), messageId: 2 }),
      subscribe(2, [{ filter: '#', qos: 1 }]),
      PINGREQ,
      DISCONNECT,
      ack(0x62, 2),
      ack(0x40, 2),
    ]);
    return Buffer.concat([first, rng.chance(0.5) ? s.connect().bytes() : Buffer.alloc(0)]);
  }],
  // MQTT-3.1.0-2: a second CONNECT is a protocol violation.
  'second-connect': [3, (rng, s) => s.connect().traffic(rng.int(3)).connect(rng.chance(0.5) ? { clientId: 'other' } : {}).traffic(rng.int(2)).bytes()],
  'topic-limits': [3, (rng, s, opts) => {
    const levels = rng.range(opts.maxTopicLevels - 1, opts.maxTopicLevels + 200);
    return rng.weighted<() => Buffer>([
      [2, () => s.connect().push(publish({ topic: longTopic(rng, levels), payload: Buffer.from('x'), qos: rng.int(3), messageId: 8 })).bytes()],
      [2, () => s.connect().push(subscribe(8, [{ filter: longTopic(rng, levels) + (rng.chance(0.5) ? '/#' : ''), qos: 1 }])).bytes()],
      [1, () => s.connect().push(publish({ topic: 'f'.repeat(65535), payload: Buffer.from('x') })).bytes()],
      [1, () => s.connect().push(publish({ topic: '', payload: Buffer.from('empty topic') })).bytes()],
      [1, () => s.connect().push(subscribe(8, Array.from({ length: rng.range(100, 2000) }, (_, i) => ({ filter: `fuzz/many/${i}`, qos: i % 3 })))).bytes()],
    ])();
  }],
  'packet-ids': [3, (rng, s) =>
    s.connect().push(
      rng.pick([
        publish({ topic: 'fuzz/a', qos: rng.range(1, 2), messageId: 0 }),
        subscribe(0, [{ filter: 'fuzz/#', qos: 0 }]),
        unsubscribe(0, ['fuzz/#']),
        packet(0x82, u16(5)), // SUBSCRIBE without a filter (MQTT-3.8.3-3)
        packet(0xa2, u16(5)),
        ack(0x62, 0),
        packet(0x40, Buffer.from([1])), // PUBACK too short
      ]),
    ).bytes(),
  ],
};

// Valid packets that mutations splice pieces from.
const TEMPLATE_DONORS: readonly Buffer[] = [
  connect({ clientId: 'donor', will: { topic: 'fuzz/wills', payload: Buffer.from('bye'), qos: 1, retain: true }, username: 'u', password: Buffer.from('p') }),
  publish({ topic: 'fuzz/a', payload: Buffer.from('donor'), qos: 2, messageId: 300 }),
  subscribe(301, [{ filter: 'fuzz/#', qos: 2 }, { filter: '+/+', qos: 0 }]),
  unsubscribe(302, ['fuzz/#']),
  PINGREQ,
  DISCONNECT,
  ack(0x62, 300),
];

export const CATEGORIES = Object.keys(GENERATORS);

/** Case `index` of the run seeded with `seed`: the same bytes every time. */
export function generateCase(seed: number, index: number, opts: FuzzOptions): FuzzCase {
  const cs = caseSeed(seed, index);
  const rng = new Prng(cs);
  const category = rng.weighted(Object.entries(GENERATORS).map(([name, [weight]]) => [weight, name] as const));
  const session = new Session(rng, opts, `${opts.clientIdPrefix}${index}`);
  const bytes = GENERATORS[category][1](rng, session, opts);
  // Split into writes at random points, so the server reassembles packets across reads.
  const writes: Buffer[] = [];
  if (rng.chance(0.3)) {
    let offset = 0;
    while (offset < bytes.length) {
      const size = rng.chance(0.5) ? rng.range(1, 3) : rng.range(1, 256);
      writes.push(bytes.subarray(offset, offset + size));
      offset += size;
      if (writes.length > 200) {
        writes.push(bytes.subarray(offset));
        break;
      }
    }
  } else {
    writes.push(bytes);
  }
  return {
    index,
    seed: cs,
    category,
    writes,
    frames: Math.max(1, session.packets.length),
    finish: rng.chance(0.85) ? 'fin' : 'reset',
    awaitReply: rng.chance(0.5),
  };
}

export function describeCase(c: FuzzCase): string {
  const bytes = Buffer.concat(c.writes);
  const hex = bytes.subarray(0, 96).toString('hex');
  return `case ${c.index} (${c.category}, ${bytes.length} bytes in ${c.writes.length} writes, ${c.finish}): ${hex}${bytes.length > 96 ? '...' : ''}`;
}

// ---------------------------------------------------------------------------------------------
// Playing a case over a stream

/** Opens one client connection to a broker listener; each transport (TCP, TLS, WebSocket) is one of these. */
export interface FuzzTransport {
  name: string;
  connect(): Promise<Duplex>;
}

export interface CaseOutcome {
  /** 'server' when the server closed before we finished; 'after-fin' once we half-closed; 'reset' when we reset. */
  closedBy: 'server' | 'after-fin' | 'reset';
  bytesIn: number;
}

export class CaseHangError extends Error {}

const REPLY_WAIT_MS = 200;

/**
 * Writes the case's bytes, then half-closes (and requires the server to close the connection
 * within `closeTimeoutMs`) or resets. Rejects with CaseHangError when the server keeps it open.
 */
export async function playCase(c: FuzzCase, transport: FuzzTransport, closeTimeoutMs: number): Promise<CaseOutcome> {
  const stream = await transport.connect();
  let bytesIn = 0;
  let closed = false;
  const closedPromise = new Promise<void>((resolve) => stream.once('close', () => ((closed = true), resolve())));
  stream.on('data', (d: Buffer) => (bytesIn += d.length));
  stream.on('error', () => {});
  const wait = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      void closedPromise.then(() => (clearTimeout(timer), resolve()));
    });
  for (const chunk of c.writes) {
    if (closed) break;
    const flushed = stream.write(chunk);
    // Many small writes: let each go out on its own (the sockets run with TCP_NODELAY).
    if (c.writes.length > 1 || !flushed) await new Promise((r) => setImmediate(r));
  }
  if (c.awaitReply && !closed) {
    const start = bytesIn;
    const deadline = Date.now() + REPLY_WAIT_MS;
    while (!closed && bytesIn === start && Date.now() < deadline) await wait(5);
  }
  if (closed) return { closedBy: 'server', bytesIn };
  if (c.finish === 'reset') {
    stream.destroy();
    return { closedBy: 'reset', bytesIn };
  }
  stream.end();
  await wait(closeTimeoutMs);
  if (!closed) {
    stream.destroy();
    throw new CaseHangError(`the server kept the connection open ${closeTimeoutMs} ms after the client's FIN`);
  }
  return { closedBy: 'after-fin', bytesIn };
}
