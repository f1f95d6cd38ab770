// aedes authorizeForward: the last check before a PUBLISH goes to a client. Live deliveries,
// retained messages on SUBSCRIBE and the offline queue on reconnect all pass here, each with its
// own packet copy, which is changed in place because the offline-queue path ignores the return value.
import type { AedesOptions, AedesPublishPacket } from 'aedes';
import type { TopicClass } from '../../topics.js';
import type { ClientSession } from '../client-session.js';
import { applyForwardPolicy, type ForwardedPacket, type GrantedQos } from '../forward-policy.js';
import { policyError } from '../policy-error.js';
import type { HookContext } from './context.js';

export interface ForwardPolicy {
  classify(topic: string): TopicClass;
  maxInflight: number;
}

export type AuthorizeForwardDecision =
  /** Send it, with this QoS and DUP flag (forward-policy.ts). */
  | { action: 'deliver'; qos: GrantedQos; dup: boolean }
  /** Not for this client. */
  | { action: 'drop' }
  /**
   * broker.limits.max_inflight reached: the connection is (being) closed. `trip` when this packet
   * is the one that reached it, with the count of unacknowledged packets; the packet's qos and
   * dup as for a delivery (a persistent session keeps the stored copy).
   */
  | { action: 'over_inflight'; trip: { inflight: number } | null; qos: GrantedQos; dup: boolean };

/**
 * broker.limits.max_inflight: aedes 1.2.0 has no outbound window: it writes every QoS 1/2 message
 * as soon as it is routed and counts nothing, so a client that stops acknowledging collects
 * packet identifiers (and, for a persistent session, stored copies) without end. Once maxInflight
 * packets await their PUBACK/PUBCOMP, the next one closes the connection.
 */
export function decideAuthorizeForward(
  session: ClientSession | undefined,
  packet: ForwardedPacket & { clientId?: string },
  policy: ForwardPolicy,
): AuthorizeForwardDecision {
  // Commands published by clients (aedes stamps their clientId) are the gateway's alone.
  const fromClient = packet.clientId !== undefined;
  if (fromClient && policy.classify(packet.topic).type === 'command') return { action: 'drop' };
  if (!session) return { action: 'drop' };
  // A deny filter inside a granted wildcard subscription (acl.ts): the denied topics never arrive.
  if (session.acl && !session.acl.canReceive(packet.topic)) return { action: 'drop' };
  const adjusted: ForwardedPacket = { topic: packet.topic, qos: packet.qos, dup: packet.dup, messageId: packet.messageId };
  if (!applyForwardPolicy(adjusted, session.granted)) return { action: 'drop' };
  const { qos, dup } = adjusted;
  if (qos === 0) return { action: 'deliver', qos, dup };
  if (session.limitTripped) return { action: 'over_inflight', trip: null, qos, dup };
  const inflight = session.inflight();
  if (inflight < policy.maxInflight) return { action: 'deliver', qos, dup };
  return { action: 'over_inflight', trip: { inflight }, qos, dup };
}

export function authorizeForwardHook(ctx: HookContext): NonNullable<AedesOptions['authorizeForward']> {
  return (client, packet: AedesPublishPacket) => {
    const session = ctx.sessions.get(client);
    const decision = decideAuthorizeForward(session, packet as AedesPublishPacket & { clientId?: string }, { classify: ctx.classify, maxInflight: ctx.limits.maxInflight });
    if (decision.action === 'drop') return null;
    packet.qos = decision.qos;
    packet.dup = decision.dup;
    if (decision.action === 'deliver') return packet;
    if (decision.trip && session) {
      session.limitTripped = true;
      ctx.counters.limitDisconnects++;
      const max = ctx.limits.maxInflight;
      ctx.log.warn(
        { clientId: client.id, username: session.username, peer: session.peer, limit: 'max_inflight', max, inflight: decision.trip.inflight },
        'mqtt client closed: broker.limits.max_inflight reached',
      );
      // destroy() reports to aedes on the next tick, outside this delivery.
      client.conn.destroy(policyError(`broker.limits.max_inflight (${max}) reached`));
    }
    // The connection is closed already; a persistent session keeps its stored copy for the next
    // connection when aedes' write fails, while null would make aedes discard it.
    return client.clean ? null : packet;
  };
}
