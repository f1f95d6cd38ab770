// The wills of clients that were connected when the previous run ended without closing their
// connections (a crash, SIGKILL, a power cut). MQTT 3.1.1 section 3.1.2.5: a will is published when
// the network connection is closed without a DISCONNECT; the crash closed those connections, so
// their wills are published at the next start, once, before the listeners open: before any client
// can reconnect and publish something newer on the same topic (a retained "online" that a stale
// "offline" would overwrite). aedes itself would publish them only at its 4-minute will sweep, after
// clients are back, and without an authenticated client our authorizePublish refuses them.
//
// A will is checked again against the current users: the user may be gone, or no longer allowed
// to publish there. Published or refused, it is deleted. A clean stop publishes the wills itself
// (aedes closes every connection, as a server-side close), so none is left for the next start.
import type { Aedes, PublishPacket } from 'aedes';
import type { TopicClass } from '../../topics.js';
import { Acl, type AclRules } from '../acl.js';
import { decidePublish } from '../publish-policy.js';
import type { WillRecord } from './durable-state.js';
import type { GatehousePersistence } from './gatehouse-persistence.js';

export type LeftoverWillDecision = { action: 'publish' } | { action: 'refuse'; reason: string };

export interface WillPolicy {
  /** The rules the user logs in with now; undefined when such a login would be refused. */
  accessOf(username: string | undefined): { rules: AclRules } | undefined;
  classify(topic: string): TopicClass;
  maxTopicLength: number;
}

export function decideLeftoverWill(will: WillRecord, policy: WillPolicy): LeftoverWillDecision {
  const topic = String(will.packet.topic ?? '');
  const access = policy.accessOf(will.username);
  if (!access) return { action: 'refuse', reason: will.username === undefined ? 'anonymous_disabled' : 'unknown_user' };
  const acl = new Acl(access.rules, { username: will.username, clientId: will.clientId });
  const decision = decidePublish(topic, policy.classify, acl, policy.maxTopicLength);
  // A will on a command topic is refused at CONNECT; one could only be here from an older config.
  if (decision.action === 'command') return { action: 'refuse', reason: 'will_on_command_topic' };
  if (decision.action === 'deny') return { action: 'refuse', reason: decision.reason };
  return { action: 'publish' };
}

export interface LeftoverWillsContext extends WillPolicy {
  aedes: Aedes;
  persistence: GatehousePersistence;
  /** A will published (for the uplink's forward filters, as a client's own publish). */
  published(topic: string, payload: Buffer, retain: boolean, clientId: string): void;
  refused(will: WillRecord, reason: string): void;
}

function publish(aedes: Aedes, packet: PublishPacket): Promise<void> {
  return new Promise((resolve, reject) => aedes.publish(packet, (err?: Error | null) => (err ? reject(err) : resolve())));
}

/** Publishes or refuses each leftover will, then deletes it; returns how many were published and refused. */
export async function publishLeftoverWills(ctx: LeftoverWillsContext): Promise<{ published: number; refused: number }> {
  let published = 0;
  let refused = 0;
  for (const will of ctx.persistence.takeLeftoverWills()) {
    const decision = decideLeftoverWill(will, ctx);
    if (decision.action === 'publish') {
      const { topic, payload, qos, retain } = will.packet;
      const bytes = Buffer.isBuffer(payload) ? payload : Buffer.from(String(payload ?? ''), 'utf8');
      const packet: PublishPacket = { cmd: 'publish', topic: String(topic), payload: bytes, qos: Math.min(2, Number(qos ?? 0)) as 0 | 1 | 2, retain: retain === true, dup: false };
      await publish(ctx.aedes, packet);
      ctx.published(packet.topic, bytes, packet.retain, will.clientId);
      published++;
    } else {
      ctx.refused(will, decision.reason);
      refused++;
    }
    await ctx.persistence.delWill({ id: will.clientId });
  }
  return { published, refused };
}
