// aedes preConnect: a CONNECT packet arrived, before any login. Only connections a gatehouse
// listener accepted (and gave a session) go on; the will topic is kept for the login's checks.
import type { AedesOptions, ConnectPacket } from 'aedes';
import type { ClientSession } from '../client-session.js';
import { policyError } from '../policy-error.js';
import type { HookContext } from './context.js';

export type PreConnectDecision = { action: 'continue'; session: ClientSession; willTopic: string | undefined } | { action: 'refuse'; reason: string };

export function decidePreConnect(session: ClientSession | undefined, packet: Pick<ConnectPacket, 'will'>): PreConnectDecision {
  if (!session) return { action: 'refuse', reason: 'connection not accepted by a gatehouse listener' };
  return { action: 'continue', session, willTopic: packet.will?.topic };
}

export function preConnectHook(ctx: HookContext): NonNullable<AedesOptions['preConnect']> {
  return (client, packet, done) => {
    const decision = decidePreConnect(ctx.sessions.get(client), packet);
    if (decision.action === 'refuse') return done(policyError(decision.reason), false);
    decision.session.willTopic = decision.willTopic;
    done(null, true);
  };
}
