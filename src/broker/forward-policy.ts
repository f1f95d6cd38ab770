// What reaches a subscriber, applied to each outgoing PUBLISH copy in aedes' authorizeForward.
import { topicMatches } from './acl.js';

export type GrantedQos = 0 | 1 | 2;

export interface ForwardedPacket {
  topic: string;
  qos: GrantedQos;
  dup: boolean;
  messageId?: number;
}

/** The highest QoS granted by one of the client's filters matching `topic`, or -1 when none does. */
export function grantedQosFor(granted: ReadonlyMap<string, GrantedQos>, topic: string): GrantedQos | -1 {
  let best: GrantedQos | -1 = -1;
  for (const [filter, qos] of granted) {
    if (qos > best && topicMatches(filter, topic)) best = qos;
  }
  return best;
}

/**
 * Adjusts `packet` in place for a client holding `granted` subscriptions; false means drop it.
 * In place, because aedes' offline-queue path writes the packet it passed in and ignores the result.
 */
export function applyForwardPolicy(packet: ForwardedPacket, granted: ReadonlyMap<string, GrantedQos>): boolean {
  const qos = grantedQosFor(granted, packet.topic);
  // No granted filter matches: a '$' topic reaching a wildcard-first filter through the retained
  // store or the offline queue (MQTT-4.7.2-1), or a subscription no longer granted.
  if (qos === -1) return false;
  // MQTT-3.8.4-6 and MQTT-3.3.5-1: at most the highest QoS granted by a matching subscription.
  if (packet.qos > qos) packet.qos = qos;
  // MQTT-3.3.1-3: DUP says whether this outgoing packet is a retransmission, never copied from the
  // publisher. Only offline-queue resends carry a packet identifier here (see markResentDup).
  if (packet.qos === 0 || packet.messageId === undefined) packet.dup = false;
  return true;
}
