// aedes 'publish' event: a PUBLISH aedes has routed, from a client or from the gateway itself
// (and from aedes' own $SYS heartbeat). Counted for metrics; a client's is handed to onPublished.
import type { AedesPublishPacket, Client } from 'aedes';
import { isSysTopic } from '../../topics.js';
import type { HookContext } from './context.js';

export type PublishedDecision = { count: 'received' | 'published' | null; notify: boolean };

export function decidePublished(topic: string, fromClient: boolean): PublishedDecision {
  if (fromClient) return { count: 'received', notify: true };
  return { count: isSysTopic(topic) ? null : 'published', notify: false };
}

export function publishedListener(ctx: HookContext): (packet: AedesPublishPacket, client: Client | null) => void {
  return (packet, client) => {
    const decision = decidePublished(packet.topic, client !== null);
    if (decision.count) ctx.counters[decision.count]++;
    if (!decision.notify || !client || !ctx.hooks.onPublished) return;
    try {
      const payload = typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload;
      ctx.hooks.onPublished(packet.topic, payload, packet.retain, client.id);
    } catch (err) {
      ctx.log.error({ err }, 'onPublished hook threw');
    }
  };
}

