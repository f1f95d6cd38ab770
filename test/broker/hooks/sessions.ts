// Explicit client sessions for the hook decision tests: a logged-in operator of site "hq", and
// the topic classifier bound to that site.
import { Acl, type AclRules } from '../../../src/broker/acl.js';
import { newClientSession, type ClientSession } from '../../../src/broker/client-session.js';
import { classifyTopic } from '../../../src/topics.js';

export const SITE = 'hq';
export const classify = (topic: string) => classifyTopic(SITE, topic);

export const OPERATOR_RULES: AclRules = { publish: [`site/${SITE}/#`, 'chat/#'], subscribe: [`site/${SITE}/#`, 'chat/#'] };

/** A connection that has not logged in yet. */
export function freshSession(overrides: Partial<ClientSession> = {}): ClientSession {
  return { ...newClientSession({ peer: '192.0.2.7:50123', protocol: 'mqtt+tcp' }, () => 0), ...overrides };
}

/** A session logged in as `username` with `rules`. */
export function loggedIn(username = 'operator', rules: AclRules = OPERATOR_RULES, overrides: Partial<ClientSession> = {}): ClientSession {
  return freshSession({ acl: new Acl(rules, { username, clientId: 'c1' }), username, ...overrides });
}
