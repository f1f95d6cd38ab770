// aedes authenticate: the login of a CONNECT packet, by password or by a verified client
// certificate, behind the failed-login lockout (login-guard.ts). decideLogin is the policy once
// the credentials were checked; authenticateHook runs the checks and acts on it.
import type { AedesOptions } from 'aedes';
import type { TopicClass } from '../../topics.js';
import { Acl } from '../acl.js';
import { CONNACK_NOT_AUTHORIZED, type Authenticator, type AuthResult } from '../auth.js';
import type { ClientSession } from '../client-session.js';
import type { LoginGuard } from '../login-guard.js';
import { loginRefusedError } from '../policy-error.js';
import { decidePublish } from '../publish-policy.js';
import type { SecurityEvent } from '../security-event.js';
import type { HookContext } from './context.js';

/** MQTT 3.1.1 table 3.1: server unavailable. */
const CONNACK_SERVER_UNAVAILABLE = 3;

export interface LoginPolicy {
  classify(topic: string): TopicClass;
  maxTopicLength: number;
}

export type LoginDecision =
  | { action: 'accept'; acl: Acl; username: string | undefined }
  | { action: 'refuse'; returnCode: number; reason: string };

/** Whether the client of `session` may log in now that its credentials gave `result`. */
export function decideLogin(session: Pick<ClientSession, 'willTopic'>, clientId: string, result: AuthResult, policy: LoginPolicy): LoginDecision {
  if (!result.ok) return { action: 'refuse', returnCode: result.returnCode, reason: result.reason };
  const acl = new Acl(result.rules, { username: result.username, clientId });
  const will = session.willTopic;
  // A will is a PUBLISH made later on the client's behalf: refuse at CONNECT a will that the
  // client could not publish itself (MQTT 3.1.1 table 3.1, code 5).
  if (will !== undefined && decidePublish(will, policy.classify, acl, policy.maxTopicLength).action === 'deny') {
    return { action: 'refuse', returnCode: CONNACK_NOT_AUTHORIZED, reason: 'will_denied' };
  }
  // A will fires at some unknown later moment, with nobody there to read the result: a
  // command that acts at a time nobody chose is exactly what the expiry rules forbid.
  if (will !== undefined && policy.classify(will).type === 'command') {
    return { action: 'refuse', returnCode: CONNACK_NOT_AUTHORIZED, reason: 'will_on_command_topic' };
  }
  return { action: 'accept', acl, username: result.username };
}

/** The security event of a refused login. */
export function authFailedEvent(clientId: string, username: string | undefined, session: ClientSession | undefined, reason: string): SecurityEvent {
  return {
    type: 'auth_failed',
    clientId,
    // A certificate login names its user by the certificate when the client sent no username.
    username: username ?? session?.certificate?.identity ?? undefined,
    peer: session?.peer ?? 'unknown',
    protocol: session?.protocol,
    reason,
  };
}

export interface AuthenticateContext extends HookContext {
  readonly authenticator: Authenticator;
  readonly logins: LoginGuard;
  /** Counts access reloads (Broker.updateAccess); a login that spans one is checked again. */
  accessGeneration(): number;
}

export function authenticateHook(ctx: AuthenticateContext): NonNullable<AedesOptions['authenticate']> {
  const authenticate: NonNullable<AedesOptions['authenticate']> = (client, username, password, done) => {
    const session = ctx.sessions.get(client);
    const refuse = (returnCode: number, reason: string) => {
      ctx.security(authFailedEvent(client.id, username, session, reason), 'mqtt login refused');
      done(loginRefusedError(reason, returnCode), null);
    };
    if (!session) return refuse(CONNACK_NOT_AUTHORIZED, 'unknown_connection');
    // Failed-login lockout (login-limiter.ts): refused before any password check, which also spares
    // the scrypt work. Code 5, not authorized (MQTT 3.1.1 table 3.1): the credentials were not
    // looked at, so 4 would be a lie, and 3 (server unavailable) invites clients to retry at once.
    // A verified client certificate cannot be guessed: such logins are neither limited nor counted.
    const attempt = { clientId: client.id, username, peer: session.peer };
    const refusedLockedOut = (): boolean => {
      const lockedOut = session.certificate ? null : ctx.logins.refusal(attempt);
      if (lockedOut?.report) refuse(CONNACK_NOT_AUTHORIZED, 'locked_out');
      else if (lockedOut) done(loginRefusedError('locked_out', CONNACK_NOT_AUTHORIZED), null);
      return lockedOut !== null;
    };
    if (refusedLockedOut()) return;
    // A verified client certificate is the credential: no password is checked (auth.ts).
    const login = session.certificate
      ? Promise.resolve(ctx.authenticator.authenticateCertificate(session.certificate.identity, username))
      : ctx.authenticator.authenticate(username, password);
    const generation = ctx.accessGeneration();
    login.then(
      (result) => {
        // The users were replaced (updateAccess) while the password was checked: check again
        // against the new list, so that a removed user or an old ACL cannot slip in.
        if (generation !== ctx.accessGeneration()) return authenticate(client, username, password, done);
        // Parallel attempts all passed the check above before any of them had failed: a lockout
        // that started while this password was checked refuses it too, right or wrong, so that a
        // burst of guesses learns no more answers than sequential ones would.
        if (refusedLockedOut()) return;
        const decision = decideLogin(session, client.id, result, { classify: ctx.classify, maxTopicLength: ctx.limits.maxTopicLength });
        if (result.ok && !session.certificate) ctx.logins.succeeded(attempt);
        if (decision.action === 'refuse') {
          refuse(decision.returnCode, decision.reason);
          if (!result.ok && !session.certificate) ctx.logins.failed(attempt);
          return;
        }
        session.acl = decision.acl;
        session.username = decision.username;
        const certificate = session.certificate ? { certificate: session.certificate.fingerprint } : {};
        ctx.log.info({ clientId: client.id, username: decision.username, peer: session.peer, protocol: session.protocol, ...certificate }, 'mqtt login');
        ctx.sessions.attach(client, session);
        done(null, true);
      },
      (err: unknown) => {
        ctx.log.error({ err, peer: session.peer }, 'authentication failed unexpectedly');
        refuse(CONNACK_SERVER_UNAVAILABLE, 'server_error');
      },
    );
  };
  return authenticate;
}
