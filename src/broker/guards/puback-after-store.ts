// A QoS 1 PUBACK goes out only once aedes has finished publishing the message: stored as retained,
// queued for every offline persistent session, routed. aedes 1.2.0 writes the PUBACK first and
// publishes in the write's callback (lib/handlers/publish.js, enqueuePublish, case 1), so a message
// acknowledged and then lost in a crash a few milliseconds later was possible (issue 13).
//
// How: aedes writes every packet with mqtt-packet's writeToStream, looked up on the module object
// at each call. The PUBACK of a guarded connection is not written there but held in that client's
// queue, and the write reports success, so aedes goes on to publish; aedes' publish of a client's
// QoS 1 message (client.broker.publish, wrapped per broker) marks the held PUBACK ready when it
// succeeds, or drops it when it fails (aedes then closes the connection and the client resends).
// PUBACKs leave in the order their PUBLISHes were handled (MQTT-4.6.0-2): a ready one waits for
// those before it. Other streams (the uplink's MQTT.js client) are never touched.
import type { Aedes, Client } from 'aedes';

type WriteToStream = (packet: { cmd?: string; messageId?: number }, stream: unknown, opts?: unknown) => boolean;
interface MqttPacketModule {
  writeToStream: WriteToStream;
}
type Publish = (packet: { qos?: number; messageId?: number }, client: Client | null, done?: (err?: Error | null) => void) => void;

interface HeldAck {
  messageId: number;
  /** Taken by the publish of its message (a resent PUBLISH with the same identifier takes the next one). */
  claimed: boolean;
  /** null while aedes publishes; then written (true) or dropped (false). */
  send: boolean | null;
}

/** Per guarded connection: its client and its PUBACKs not yet written, oldest first. */
interface Guarded {
  client: Client;
  held: HeldAck[];
}

const guarded = new WeakMap<object, Guarded>();
let originalWrite: WriteToStream | null = null;

function isConnected(client: Client): boolean {
  const c = client as unknown as { connected?: boolean; connecting?: boolean };
  return c.connected === true || c.connecting === true;
}

function flush(stream: object, entry: Guarded): void {
  while (entry.held.length > 0 && entry.held[0]!.send !== null) {
    const ack = entry.held.shift()!;
    if (ack.send && isConnected(entry.client)) originalWrite!({ cmd: 'puback', messageId: ack.messageId }, stream);
  }
}

/** Replaces mqtt-packet's writeToStream once per process; false when the module is not as expected. */
export function installPubackHold(mqttPacket: unknown): boolean {
  const module = mqttPacket as Partial<MqttPacketModule> | null;
  if (!module || typeof module.writeToStream !== 'function') return false;
  if (originalWrite) return true;
  const write = module.writeToStream.bind(module);
  originalWrite = write;
  module.writeToStream = (packet, stream, opts) => {
    const entry = typeof stream === 'object' && stream !== null ? guarded.get(stream) : undefined;
    if (!entry || packet.cmd !== 'puback' || typeof packet.messageId !== 'number') return write(packet, stream, opts);
    entry.held.push({ messageId: packet.messageId, claimed: false, send: null });
    return true;
  };
  return true;
}

/** Wraps `aedes.publish` so a client's QoS 1 message releases its held PUBACK when published. */
export function releasePubackOnPublished(aedes: Aedes): boolean {
  const target = aedes as unknown as { publish?: Publish };
  if (typeof target.publish !== 'function') return false;
  const publish = target.publish.bind(aedes);
  target.publish = (packet, client, done) => {
    const stream = client ? (client as unknown as { conn?: object }).conn : undefined;
    const entry = stream ? guarded.get(stream) : undefined;
    const ack = entry && packet.qos === 1 ? entry.held.find((held) => held.messageId === packet.messageId && !held.claimed) : undefined;
    if (!ack) return publish(packet, client, done);
    ack.claimed = true;
    publish(packet, client, (err) => {
      ack.send = !err;
      flush(stream!, entry!);
      done?.(err);
    });
  };
  return true;
}

/** Holds this client's PUBACKs until their messages are published; false when it has no connection stream. */
export function guardPubacks(client: Client): boolean {
  const stream = (client as unknown as { conn?: unknown }).conn;
  if (typeof stream !== 'object' || stream === null) return false;
  guarded.set(stream, { client, held: [] });
  return true;
}
