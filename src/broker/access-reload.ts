// New users and anonymous access (allow and deny lists) while running (a configuration reload). A connected client whose
// user was removed or got a new password hash, or an anonymous one once anonymous access is off,
// is disconnected (its will is published as for any server-side close). Any other client keeps
// its connection and gets its new access list at once: later PUBLISH and SUBSCRIBE packets are
// checked against it, and deliveries through subscriptions it no longer covers stop.
import type { Client } from 'aedes';
import { isDeepStrictEqual } from 'node:util';
import type { Logger } from 'pino';
import { Acl } from './acl.js';
import type { AnonymousAccess, Authenticator, UserEntry } from './auth.js';
import type { ClientSession, ClientSessions } from './client-session.js';

type Access = ReturnType<Authenticator['accessOf']>;

export type AccessUpdateDecision =
  /** Not logged in yet: its CONNECT is checked against the new users. */
  | { action: 'skip' }
  | { action: 'disconnect'; reason: 'password_changed' | 'access_removed' }
  /** Same access list as before. */
  | { action: 'keep' }
  /** A new access list; `revoked`: granted filters it no longer covers. */
  | { action: 'update'; acl: Acl; revoked: string[] };

/** What a reload does to the client of `session`, whose access was `was` and is now `now`. */
export function decideAccessUpdate(clientId: string, session: ClientSession | undefined, was: Access, now: Access): AccessUpdateDecision {
  if (!session?.acl) return { action: 'skip' };
  // A client logged in by its certificate never used the password.
  if (!now || (!session.certificate && now.passwordHash !== was?.passwordHash)) {
    return { action: 'disconnect', reason: now ? 'password_changed' : 'access_removed' };
  }
  if (isDeepStrictEqual(now.rules, was?.rules)) return { action: 'keep' };
  const acl = new Acl(now.rules, { username: session.username, clientId });
  return { action: 'update', acl, revoked: [...session.granted.keys()].filter((filter) => !acl.canSubscribe(filter)) };
}

/** Replaces the authenticator's users and applies the change to the `connected` clients. */
export function reloadAccess(
  connected: readonly Client[],
  sessions: ClientSessions<Client>,
  authenticator: Authenticator,
  access: { users: readonly UserEntry[]; anonymous: AnonymousAccess },
  log: Logger,
): { disconnected: number; updated: number } {
  const before = new Map(connected.map((client) => [client, authenticator.accessOf(sessions.get(client)?.username)]));
  authenticator.replace(access.users, access.anonymous);
  let disconnected = 0;
  let updated = 0;
  for (const client of connected) {
    const session = sessions.get(client);
    const decision = decideAccessUpdate(client.id, session, before.get(client), authenticator.accessOf(session?.username));
    if (decision.action === 'disconnect') {
      log.info({ clientId: client.id, username: session?.username, peer: session?.peer, reason: decision.reason }, 'mqtt client disconnected by a configuration reload');
      client.close();
      disconnected++;
    } else if (decision.action === 'update' && session) {
      session.acl = decision.acl;
      for (const filter of decision.revoked) session.granted.delete(filter);
      updated++;
    }
  }
  return { disconnected, updated };
}
