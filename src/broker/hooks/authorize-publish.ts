// aedes authorizePublish: every PUBLISH from a client (and every will aedes publishes for one).
// Ordinary traffic is routed when the ACL allows it; a command is handed to the pipeline and
// consumed; anything refused closes the connection (MQTT-3.3.5-2).
import type { AedesOptions, PublishPacket } from 'aedes';
import { rememberQos2, type ClientSession } from '../client-session.js';
import type { IncomingCommand } from '../options.js';
import { policyError } from '../policy-error.js';
import { decidePublish } from '../publish-policy.js';
import type { SecurityEvent } from '../security-event.js';
import type { HookContext } from './context.js';

export interface PublishHookPolicy {
  classify: Parameters<typeof decidePublish>[1];
  maxTopicLength: number;
  /** Whether aedes already stored this QoS 2 message id of the client and awaits its PUBREL. */
  awaitingPubrel(messageId: number): boolean;
}

export type AuthorizePublishDecision =
  /** No logged-in client (a will left by another broker instance, or no session): refused. */
  | { action: 'refuse'; error: string }
  /** Ordinary traffic: route it. */
  | { action: 'allow' }
  /** Refused and reported; the connection is closed. */
  | { action: 'deny'; event: SecurityEvent; message: string; error: string }
  /** A QoS 2 command sent again before its PUBREL: acknowledged, not run again, not retained. */
  | { action: 'retransmission' }
  /** A command for the pipeline: acknowledged, never retained or routed. */
  | { action: 'command'; command: IncomingCommand };

export function decideAuthorizePublish(
  client: { id: string; closed: boolean } | null,
  session: ClientSession | undefined,
  packet: Pick<PublishPacket, 'topic' | 'payload' | 'qos' | 'retain' | 'dup' | 'messageId'>,
  policy: PublishHookPolicy,
): AuthorizePublishDecision {
  // client is null only for a will left by another broker instance: nothing to authorize it against.
  if (!client || !session?.acl) return { action: 'refuse', error: 'publish without an authenticated client' };
  const decision = decidePublish(packet.topic, policy.classify, session.acl, policy.maxTopicLength);
  if (decision.action === 'allow') return decision;
  if (decision.action === 'deny') {
    return {
      action: 'deny',
      event: { type: 'publish_denied', clientId: client.id, username: session.username, peer: session.peer, protocol: session.protocol, topic: packet.topic, reason: decision.reason },
      message: client.closed ? 'mqtt will refused' : 'mqtt publish refused; closing connection',
      error: `publish to "${packet.topic}" refused: ${decision.reason}`,
    };
  }
  if (isQos2Retransmission(session, packet, policy)) return { action: 'retransmission' };
  return {
    action: 'command',
    command: {
      topic: packet.topic,
      kind: decision.kind,
      device: decision.device,
      command: decision.command,
      payload: packet.payload === undefined ? Buffer.alloc(0) : Buffer.from(packet.payload),
      qos: packet.qos,
      retain: packet.retain,
      dup: packet.dup,
      messageId: packet.qos > 0 ? packet.messageId : undefined,
      clientId: client.id,
      username: session.username,
      peer: session.peer,
      authorized: decision.authorized,
    },
  };
}

/**
 * MQTT-4.3.3-2: a QoS 2 PUBLISH retransmitted before its PUBREL must not be delivered onward
 * twice. aedes answers such a retransmission with another PUBREC but runs authorizePublish
 * first, so the pipeline would see the command again. aedes tracks the ids awaiting PUBREL once
 * the packet is stored; copies within one parse batch arrive before that, so ids are also
 * remembered (session.recentQos2) until the next turn of the event loop.
 */
function isQos2Retransmission(session: ClientSession, packet: Pick<PublishPacket, 'qos' | 'messageId'>, policy: PublishHookPolicy): boolean {
  if (packet.qos !== 2 || packet.messageId === undefined) return false;
  return policy.awaitingPubrel(packet.messageId) || session.recentQos2.has(packet.messageId);
}

/** Hands an allowed message to the keep hook; the acknowledgement (done) waits for what it returns. */
function keepThen(ctx: HookContext, client: { id: string }, packet: PublishPacket, done: () => void): void {
  let kept: Promise<void> | undefined;
  try {
    const payload = packet.payload === undefined ? Buffer.alloc(0) : Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload);
    kept = ctx.hooks.keep?.(packet.topic, payload, packet.retain, client.id);
  } catch (err) {
    ctx.log.error({ err, topic: packet.topic }, 'keep hook threw');
  }
  if (kept === undefined) return done();
  kept.then(done, (err: unknown) => {
    ctx.log.error({ err, topic: packet.topic }, 'keep hook rejected');
    done();
  });
}

export function authorizePublishHook(ctx: HookContext): NonNullable<AedesOptions['authorizePublish']> {
  return (client, packet, done) => {
    const session = ctx.sessions.get(client);
    const decision = decideAuthorizePublish(client, session, packet, {
      classify: ctx.classify,
      maxTopicLength: ctx.limits.maxTopicLength,
      awaitingPubrel: (id) => client !== null && ctx.compat.awaitingPubrel(client, id),
    });
    switch (decision.action) {
      case 'refuse':
        return done(policyError(decision.error));
      case 'allow':
        return keepThen(ctx, client!, packet, () => done(null));
      case 'deny':
        ctx.security(decision.event, decision.message);
        // MQTT-3.3.5-2: the server may close the connection instead of acknowledging.
        return done(policyError(decision.error));
      case 'retransmission':
        packet.retain = false;
        return done(null);
      case 'command':
        // Consumed by the gateway: never retained (a retained command would replay on every
        // subscribe), never routed (authorizeForward drops it); aedes still acknowledges it.
        packet.retain = false;
        if (session && packet.qos === 2 && packet.messageId !== undefined) rememberQos2(session, packet.messageId);
        try {
          ctx.hooks.onCommand(decision.command);
        } catch (err) {
          ctx.log.error({ err, topic: packet.topic, clientId: decision.command.clientId }, 'onCommand hook threw');
        }
        return done(null);
    }
  };
}
