// MQTT packets as the broker's persistence holds them (plain objects: Buffer or string payloads,
// MQTT 5 properties, fields whose value is undefined) to and from a BLOB, with Node's v8
// serializer: it keeps Buffers as Buffers and every field as it was, where JSON would not.
import { deserialize, serialize } from 'node:v8';
import type { StoredPacket } from '../broker/persistence/durable-state.js';

export function encodePacket(packet: StoredPacket): Buffer {
  const fields: Record<string, unknown> = {};
  // aedes hangs callbacks on some packet objects; they are not part of the message.
  for (const [key, value] of Object.entries(packet)) if (typeof value !== 'function') fields[key] = value;
  return serialize(fields);
}

/** Throws when `blob` is not an encoded packet. */
export function decodePacket(blob: Buffer): StoredPacket {
  const value: unknown = deserialize(blob);
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error('not an encoded packet');
  return value as StoredPacket;
}
