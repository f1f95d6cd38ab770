// The pieces the route groups share: the gateway's side (deps), sessions, the device activity and
// how a session becomes a user (their current ACL and roles: a reload applies at the next request).
import { Acl } from '../../broker/acl.js';
import type { ConsoleDeps, ConsoleUser } from './context.js';
import type { DeviceActivity } from './device-activity.js';
import type { SecurityLog } from './security-log.js';
import type { ConsoleSession, SessionStore } from './sessions.js';

export interface ConsoleServerParts {
  deps: ConsoleDeps;
  sessions: SessionStore;
  activity: DeviceActivity;
  security: SecurityLog;
  lastReload(): Record<string, unknown> | null;
  userOf(session: ConsoleSession): ConsoleUser | undefined;
}

/** The user behind a session now; undefined when the user is no longer configured. */
export function userOf(deps: ConsoleDeps, session: ConsoleSession): ConsoleUser | undefined {
  const rules = deps.broker()?.userRules(session.username);
  if (!rules) return undefined;
  const entry = deps.config().users.find((u) => u.username === session.username);
  return { username: session.username, admin: entry?.roles?.includes('admin') ?? false, acl: new Acl(rules, { username: session.username, clientId: `console:${session.username}` }) };
}
