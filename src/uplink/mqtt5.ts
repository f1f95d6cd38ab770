// MQTT 5 pieces of the cloud link that need no connection: the size of a PUBLISH on the wire
// (checked against the broker's Maximum Packet Size), the names of reason codes, and what a
// broker's answer says about one of our packets.

import { ReasonCodes } from 'mqtt';

/** The protocol the link speaks: MQTT 3.1.1 (protocol level 4) or MQTT 5. */
export type UplinkProtocol = '3.1.1' | '5';

/** The PUBLISH properties the link sets (MQTT 5 section 3.3.2.3). */
export interface PublishProperties {
  userProperties?: Record<string, string>;
  correlationData?: Buffer;
}

/** What the broker said in its CONNACK about what it accepts (MQTT 5 section 3.2.2.3). */
export interface BrokerLimits {
  /** Receive Maximum: QoS 1 and 2 PUBLISHes it accepts unacknowledged (absent: 65535). */
  receiveMaximum?: number;
  /** Maximum Packet Size in bytes, whole packet (absent: no limit beyond the protocol's). */
  maximumPacketSize?: number;
}

/** A reason code a broker sent, as the gateway state shows it. */
export interface BrokerReason {
  packet: 'connack' | 'disconnect' | 'puback' | 'suback';
  code: number;
  /** The code's name from the specification. */
  reason: string;
  /** The broker's Reason String property, when it sent one. */
  detail?: string;
  /** The message topic or subscription filter it is about. */
  topic?: string;
  at: number;
}

/** Bytes of a Variable Byte Integer (MQTT 5 section 1.5.5). */
function varintBytes(n: number): number {
  return n < 128 ? 1 : n < 16_384 ? 2 : n < 2_097_152 ? 3 : 4;
}

/** A UTF-8 string or binary data field: two length bytes and the bytes (sections 1.5.4, 1.5.6). */
function fieldBytes(value: string | Buffer): number {
  return 2 + (typeof value === 'string' ? Buffer.byteLength(value, 'utf8') : value.length);
}

/**
 * Size in bytes of a QoS 1 PUBLISH carrying this message: fixed header, topic name, packet
 * identifier, (MQTT 5) properties, payload (MQTT 5 section 3.3, MQTT 3.1.1 section 3.3). This is the
 * number the broker's Maximum Packet Size limits (MQTT 5 section 3.2.2.3.6).
 */
export function publishPacketSize(protocol: UplinkProtocol, topic: string, payloadBytes: number, properties: PublishProperties = {}): number {
  let remaining = fieldBytes(topic) + 2 + payloadBytes;
  if (protocol === '5') {
    let props = 0;
    for (const [key, value] of Object.entries(properties.userProperties ?? {})) props += 1 + fieldBytes(key) + fieldBytes(value);
    if (properties.correlationData) props += 1 + fieldBytes(properties.correlationData);
    remaining += varintBytes(props) + props;
  }
  return 1 + varintBytes(remaining) + remaining;
}

const CONNACK_3_1_1: Record<number, string> = {
  1: 'Unacceptable protocol version',
  2: 'Identifier rejected',
  3: 'Server unavailable',
  4: 'Bad user name or password',
  5: 'Not authorized',
};

/** The name of a reason code (MQTT 5 section 2.4), or of an MQTT 3.1.1 CONNACK return code. */
export function reasonName(code: number, protocol: UplinkProtocol, packet: BrokerReason['packet']): string {
  if (protocol === '3.1.1' && packet === 'connack') return CONNACK_3_1_1[code] ?? `return code ${code}`;
  if (protocol === '3.1.1' && packet === 'suback' && code === 0x80) return 'Failure';
  const name = (ReasonCodes as Record<number, string>)[code];
  return name ? name : `reason code 0x${code.toString(16).padStart(2, '0')}`;
}

/** Formats a code the way the specification writes it: 0x87. */
export function hex(code: number): string {
  return `0x${code.toString(16).padStart(2, '0')}`;
}
