// MQTT 3.1.1 server requirements that aedes 1.2.0 (with mqtt-packet 9) does not enforce, checked on
// the raw bytes of each client packet before aedes parses it. mqtt-packet decodes strings with
// Buffer#toString, which silently turns ill-formed UTF-8 into U+FFFD, so these checks must see
// the bytes. Rules aedes already enforces (reserved flag bits, QoS 3 in a PUBLISH header, a first
// packet other than CONNECT, a second CONNECT, ...) are left to it.
import { validateTopicFilter, validateTopicName } from '../acl.js';
import type { MqttFrame } from './frames.js';

export const PACKET_CONNECT = 1;
export const PACKET_CONNACK = 2;
export const PACKET_PUBLISH = 3;
export const PACKET_PUBACK = 4;
export const PACKET_PUBREC = 5;
export const PACKET_PUBREL = 6;
export const PACKET_PUBCOMP = 7;
export const PACKET_SUBSCRIBE = 8;
export const PACKET_UNSUBSCRIBE = 10;
export const PACKET_PINGREQ = 12;
export const PACKET_DISCONNECT = 14;

/** What a valid CONNECT asked for; the guard needs it to answer Session Present. */
export interface ConnectSummary {
  clientId: string;
  cleanSession: boolean;
}

export type Verdict =
  | { ok: true; connect?: ConnectSummary }
  /** Close the connection; when `connackCode` is set, answer CONNACK with it first (MQTT-3.2.2-5). */
  | { ok: false; clause: string; reason: string; connackCode?: number };

const OK: Verdict = { ok: true };

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

class Malformed extends Error {
  constructor(
    readonly clause: string,
    message: string,
  ) {
    super(message);
  }
}

class BodyReader {
  private pos = 0;

  constructor(private readonly body: Buffer) {}

  get done(): boolean {
    return this.pos >= this.body.length;
  }

  byte(): number {
    if (this.pos >= this.body.length) throw new Malformed('MQTT-4.8.0-1', 'packet too short');
    return this.body[this.pos++];
  }

  u16(): number {
    if (this.pos + 2 > this.body.length) throw new Malformed('MQTT-4.8.0-1', 'packet too short');
    const value = this.body.readUInt16BE(this.pos);
    this.pos += 2;
    return value;
  }

  bytes(): Buffer {
    const length = this.u16();
    if (this.pos + length > this.body.length) throw new Malformed('MQTT-4.8.0-1', 'packet too short');
    const out = this.body.subarray(this.pos, this.pos + length);
    this.pos += length;
    return out;
  }

  /** A UTF-8 encoded string (MQTT 3.1.1 section 1.5.3). */
  string(what: string): string {
    const raw = this.bytes();
    let text: string;
    try {
      text = strictUtf8.decode(raw);
    } catch {
      // MQTT-1.5.3-1: ill-formed UTF-8, including encoded surrogates U+D800..U+DFFF.
      throw new Malformed('MQTT-1.5.3-1', `${what} is not well-formed UTF-8`);
    }
    // MQTT-1.5.3-2: U+0000 is not allowed in a UTF-8 encoded string.
    if (text.includes('\u0000')) throw new Malformed('MQTT-1.5.3-2', `${what} contains U+0000`);
    return text;
  }
}

function checkConnect(frame: MqttFrame): Verdict {
  const r = new BodyReader(frame.body);
  const name = r.string('protocol name');
  const level = r.byte();
  if (name === 'MQTT' && level === 5) return OK; // MQTT 5 layout differs; aedes answers CONNACK 1 (MQTT-3.1.2-2)
  const supported = (name === 'MQTT' && level === 4) || (name === 'MQIsdp' && level === 3);
  if (!supported) {
    if (name === 'MQTT' && level !== 3) {
      // MQTT-3.1.2-2: an unsupported protocol level (including mosquitto's 0x80 "bridge" bit) is
      // answered with CONNACK 0x01 before the connection is closed.
      return { ok: false, clause: 'MQTT-3.1.2-2', reason: `unsupported protocol level ${level}`, connackCode: 1 };
    }
    // MQTT-3.1.2-1: the protocol name does not match the level; close without CONNACK.
    return { ok: false, clause: 'MQTT-3.1.2-1', reason: `protocol name ${JSON.stringify(name)} with level ${level}` };
  }
  const flags = r.byte();
  r.u16(); // keep alive
  const clientId = r.string('client identifier');
  const cleanSession = (flags & 0x02) !== 0;
  const willFlag = (flags & 0x04) !== 0;
  const willQos = (flags >> 3) & 0x03;
  const passwordFlag = (flags & 0x40) !== 0;
  const usernameFlag = (flags & 0x80) !== 0;
  if (willFlag) {
    // MQTT-3.1.2-14: the Will QoS must not be 3.
    if (willQos === 3) return { ok: false, clause: 'MQTT-3.1.2-14', reason: 'will QoS 3' };
    const willTopic = r.string('will topic');
    // MQTT-3.1.3-10 with 4.7.1-1 and 4.7.3-1: the will topic is a topic name, not a filter, not empty.
    const invalid = validateTopicName(willTopic);
    if (invalid) return { ok: false, clause: 'MQTT-3.1.3-10', reason: `will ${invalid}` };
    r.bytes(); // will message
  }
  // MQTT-3.1.2-22: no password without a user name.
  if (passwordFlag && !usernameFlag) return { ok: false, clause: 'MQTT-3.1.2-22', reason: 'password flag set without user name flag' };
  if (usernameFlag) r.string('user name');
  if (passwordFlag) r.bytes();
  // MQTT-3.1.4-1: the CONNECT must conform to section 3.1 exactly: nothing after the last field.
  if (!r.done) return { ok: false, clause: 'MQTT-3.1.4-1', reason: 'bytes after the last CONNECT field' };
  if (clientId.length === 0) {
    // MQTT-3.1.3-8: a zero-length client identifier requires a clean session; answer 0x02 and
    // close. MQTT 3.1 (MQIsdp) requires 1 to 23 characters in any case.
    if (!cleanSession || level === 3) {
      return { ok: false, clause: 'MQTT-3.1.3-8', reason: 'empty client identifier without clean session', connackCode: 2 };
    }
  }
  return { ok: true, connect: { clientId, cleanSession } };
}

function checkPublish(frame: MqttFrame): Verdict {
  const r = new BodyReader(frame.body);
  const qos = (frame.flags >> 1) & 0x03;
  const dup = (frame.flags & 0x08) !== 0;
  // MQTT-3.3.1-2: DUP must be 0 for QoS 0.
  if (qos === 0 && dup) return { ok: false, clause: 'MQTT-3.3.1-2', reason: 'DUP flag set on a QoS 0 PUBLISH' };
  r.string('topic name');
  // MQTT-2.3.1-1: a QoS 1 or 2 PUBLISH carries a non-zero packet identifier.
  if (qos > 0 && r.u16() === 0) return { ok: false, clause: 'MQTT-2.3.1-1', reason: 'PUBLISH packet identifier 0' };
  return OK;
}

function checkSubscribe(frame: MqttFrame, what: 'SUBSCRIBE' | 'UNSUBSCRIBE'): Verdict {
  const r = new BodyReader(frame.body);
  // MQTT-2.3.1-1: SUBSCRIBE and UNSUBSCRIBE carry a non-zero packet identifier.
  if (r.u16() === 0) return { ok: false, clause: 'MQTT-2.3.1-1', reason: `${what} packet identifier 0` };
  // MQTT-3.8.3-3 / MQTT-3.10.3-2: at least one topic filter.
  if (r.done) {
    return { ok: false, clause: what === 'SUBSCRIBE' ? 'MQTT-3.8.3-3' : 'MQTT-3.10.3-2', reason: `${what} without a topic filter` };
  }
  while (!r.done) {
    const filter = r.string('topic filter');
    // MQTT-4.7.1-2 / 4.7.1-3: wildcards only as whole levels, '#' last. aedes 1.2.0 lets "a+",
    // "+a", "a#" through; a malformed filter is a protocol violation (MQTT-4.8.0-1).
    const invalid = validateTopicFilter(filter);
    if (invalid) {
      const clause = filter.length === 0 ? 'MQTT-4.7.3-1' : 'MQTT-4.7.1-2';
      return { ok: false, clause, reason: `${what} ${invalid}: ${JSON.stringify(filter)}` };
    }
    if (what === 'SUBSCRIBE') r.byte(); // requested QoS, checked by mqtt-packet
  }
  return OK;
}

// Packets whose remaining length the spec fixes (sections 3.4.1, 3.5.1, 3.6.1, 3.7.1, 3.12.1, 3.14.1).
const FIXED_LENGTH: Record<number, number> = {
  [PACKET_PUBACK]: 2,
  [PACKET_PUBREC]: 2,
  [PACKET_PUBREL]: 2,
  [PACKET_PUBCOMP]: 2,
  [PACKET_PINGREQ]: 0,
  [PACKET_DISCONNECT]: 0,
};

/** Checks one client-to-server packet. */
export function checkClientPacket(frame: MqttFrame): Verdict {
  try {
    const fixed = FIXED_LENGTH[frame.type];
    if (fixed !== undefined && frame.body.length !== fixed) {
      return { ok: false, clause: 'MQTT-4.8.0-1', reason: `packet type ${frame.type} with remaining length ${frame.body.length}, expected ${fixed}` };
    }
    switch (frame.type) {
      case PACKET_CONNECT:
        return checkConnect(frame);
      case PACKET_PUBLISH:
        return checkPublish(frame);
      case PACKET_SUBSCRIBE:
        return checkSubscribe(frame, 'SUBSCRIBE');
      case PACKET_UNSUBSCRIBE:
        return checkSubscribe(frame, 'UNSUBSCRIBE');
      default:
        return OK;
    }
  } catch (err) {
    if (err instanceof Malformed) return { ok: false, clause: err.clause, reason: err.message };
    throw err;
  }
}
