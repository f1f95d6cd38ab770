// aedes authorizeSubscribe: each filter of a SUBSCRIBE packet. MQTT 3.1.1 section 3.9.3 lets the
// server fail single filters: a refused one gets 0x80 and the client keeps its connection and its
// other filters.
import type { AedesOptions, Subscription } from 'aedes';
import { validateTopicFilter } from '../acl.js';
import { subscribeLimitExceeded, type ClientLimits, type SubscribeLimit } from '../client-limits.js';
import type { ClientSession } from '../client-session.js';
import type { GrantedQos } from '../forward-policy.js';
import type { SecurityEvent } from '../security-event.js';
import type { HookContext } from './context.js';

// A SUBSCRIBE of up to maxPacketBytes can carry hundreds of thousands of filters: past this many
// denials per connection, further ones are counted and logged at debug, not journaled.
export const SUBSCRIBE_DENIALS_JOURNALED = 100;

export type AuthorizeSubscribeDecision =
  | { action: 'grant'; qos: GrantedQos }
  | {
      action: 'deny';
      event: SecurityEvent;
      /** The limit that refused it, if one did. */
      overLimit: SubscribeLimit | null;
      /** 'journal': reported as a security event; past SUBSCRIBE_DENIALS_JOURNALED only counted and logged ('first-unjournaled' says so once). */
      report: 'journal' | 'first-unjournaled' | 'unjournaled';
      message: string;
    };

export function decideAuthorizeSubscribe(
  clientId: string,
  session: ClientSession | undefined,
  sub: Pick<Subscription, 'topic' | 'qos'>,
  limits: Pick<ClientLimits, 'maxTopicLength' | 'maxSubscriptions'>,
): AuthorizeSubscribeDecision {
  const invalid = validateTopicFilter(sub.topic);
  const refusal = session?.acl && !invalid ? session.acl.subscribeRefusal(sub.topic) : 'acl';
  const allowed = refusal === null;
  // A filter over a limit gets 0x80 like any refusal.
  const overLimit = session && allowed ? subscribeLimitExceeded(sub.topic, session.granted, limits) : null;
  if (session && allowed && !overLimit) return { action: 'grant', qos: sub.qos as GrantedQos };
  const event: SecurityEvent = {
    type: 'subscribe_denied',
    clientId,
    username: session?.username,
    peer: session?.peer ?? 'unknown',
    protocol: session?.protocol,
    topic: sub.topic,
    reason: invalid ? 'invalid_filter' : (overLimit ?? refusal ?? 'acl'),
  };
  const denials = session ? session.subscribeDenials + 1 : 1;
  if (denials > SUBSCRIBE_DENIALS_JOURNALED) {
    const first = denials === SUBSCRIBE_DENIALS_JOURNALED + 1;
    const message = first ? 'mqtt subscribe refused; further refusals on this connection are counted, not journaled' : 'mqtt subscribe refused';
    return { action: 'deny', event, overLimit, report: first ? 'first-unjournaled' : 'unjournaled', message };
  }
  const limitKey = overLimit === 'topic_too_long' ? 'max_topic_length' : overLimit;
  const message = overLimit ? `mqtt subscribe refused: broker.limits.${limitKey} reached` : 'mqtt subscribe refused';
  return { action: 'deny', event, overLimit, report: 'journal', message };
}

export function authorizeSubscribeHook(ctx: HookContext): NonNullable<AedesOptions['authorizeSubscribe']> {
  return (client, sub, done) => {
    const session = ctx.sessions.get(client);
    const decision = decideAuthorizeSubscribe(client.id, session, sub, ctx.limits);
    if (decision.action === 'grant' && session) {
      // aedes 1.2.0 caps the delivered QoS only for a subscription whose filter equals the topic,
      // and with overlapping subscriptions the first listener wins, possibly at QoS 0. So aedes
      // subscribes every filter at QoS 2 and authorizeForward applies the granted QoS
      // (MQTT-3.8.4-6, MQTT-3.3.5-1). SUBACK still reports the requested QoS: aedes takes it from
      // the SUBSCRIBE packet, and every QoS is granted as requested.
      session.granted.set(sub.topic, decision.qos);
      return done(null, { ...sub, qos: 2 });
    }
    if (decision.action === 'deny') {
      if (decision.overLimit) ctx.counters.subscriptionsRefusedByLimit++;
      if (session) session.subscribeDenials++;
      if (decision.report === 'journal') ctx.security(decision.event, decision.message);
      else {
        ctx.counters.subscribeDenialsNotJournaled++;
        if (decision.report === 'first-unjournaled') ctx.log.warn(decision.event, decision.message);
        else ctx.log.debug(decision.event, decision.message);
      }
    }
    // MQTT-3.9.3: a null subscription makes aedes answer 0x80 (failure) for this filter.
    done(null, null);
  };
}
