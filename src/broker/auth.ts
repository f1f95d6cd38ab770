// Who may connect, and with which access list: users by username and scrypt hash, and
// anonymous clients only when configured.
import { randomBytes } from 'node:crypto';
import type { AclRules } from './acl.js';
import { hashPassword, verifyPassword } from './password.js';

export interface UserEntry {
  username: string;
  password_hash: string;
  publish: string[];
  subscribe: string[];
  /** Filters denied for publish and subscribe, before the allow lists (acl.ts). */
  deny?: string[];
}

export interface AnonymousAccess {
  enabled: boolean;
  publish: string[];
  subscribe: string[];
  deny?: string[];
}

function rulesOf(entry: { publish: string[]; subscribe: string[]; deny?: string[] }): AclRules {
  return { publish: entry.publish, subscribe: entry.subscribe, deny: entry.deny ?? [] };
}

/** CONNACK return codes of MQTT 3.1.1 table 3.1 used for refused logins. */
export const CONNACK_BAD_CREDENTIALS = 4;
export const CONNACK_NOT_AUTHORIZED = 5;

export type AuthFailureReason =
  | 'unknown_user'
  | 'bad_password'
  | 'missing_password'
  | 'anonymous_disabled'
  // Certificate logins (authenticateCertificate):
  | 'unknown_certificate_user'
  | 'certificate_mismatch'
  | 'certificate_without_identity';

export type AuthResult =
  | { ok: true; username?: string; rules: AclRules }
  | { ok: false; returnCode: typeof CONNACK_BAD_CREDENTIALS | typeof CONNACK_NOT_AUTHORIZED; reason: AuthFailureReason };

export class Authenticator {
  private readonly users = new Map<string, UserEntry>();
  // Verified for unknown usernames so that their answer takes as long as a wrong password's.
  private decoyHash: string | null = null;

  constructor(
    users: readonly UserEntry[],
    private anonymous: AnonymousAccess,
  ) {
    for (const user of users) if (!this.users.has(user.username)) this.users.set(user.username, user);
  }

  async start(): Promise<void> {
    this.decoyHash ??= await hashPassword(randomBytes(16).toString('hex'));
  }

  async authenticate(username: string | undefined, password: Buffer | undefined): Promise<AuthResult> {
    if (username === undefined) {
      if (!this.anonymous.enabled) return { ok: false, returnCode: CONNACK_NOT_AUTHORIZED, reason: 'anonymous_disabled' };
      return { ok: true, rules: rulesOf(this.anonymous) };
    }
    const user = this.users.get(username);
    const secret = password === undefined ? '' : password.toString('utf8');
    const matches = await verifyPassword(secret, user?.password_hash ?? this.decoyHash ?? '');
    if (!user) return { ok: false, returnCode: CONNACK_BAD_CREDENTIALS, reason: 'unknown_user' };
    if (password === undefined) return { ok: false, returnCode: CONNACK_BAD_CREDENTIALS, reason: 'missing_password' };
    if (!matches) return { ok: false, returnCode: CONNACK_BAD_CREDENTIALS, reason: 'bad_password' };
    return { ok: true, username, rules: rulesOf(user) };
  }

  /**
   * A client whose certificate the TLS layer verified against the configured CA: the certificate's
   * identity names the user, and no password is checked (one sent along is ignored). A username
   * sent as well must be that same identity. Every refusal is code 5, not authorized (MQTT 3.1.1
   * table 3.1): the certificate is genuine, it just grants nothing here.
   */
  authenticateCertificate(identity: string | null, username: string | undefined): AuthResult {
    if (identity === null) return { ok: false, returnCode: CONNACK_NOT_AUTHORIZED, reason: 'certificate_without_identity' };
    if (username !== undefined && username !== identity) return { ok: false, returnCode: CONNACK_NOT_AUTHORIZED, reason: 'certificate_mismatch' };
    const user = this.users.get(identity);
    if (!user) return { ok: false, returnCode: CONNACK_NOT_AUTHORIZED, reason: 'unknown_certificate_user' };
    return { ok: true, username: identity, rules: rulesOf(user) };
  }

  /** What a connected client was let in with: its user entry, or the anonymous access; undefined when it would now be refused. */
  accessOf(username: string | undefined): { rules: AclRules; passwordHash?: string } | undefined {
    if (username === undefined) return this.anonymous.enabled ? { rules: rulesOf(this.anonymous) } : undefined;
    const user = this.users.get(username);
    return user && { rules: rulesOf(user), passwordHash: user.password_hash };
  }

  /** New users and anonymous access (a configuration reload); later logins use them. */
  replace(users: readonly UserEntry[], anonymous: AnonymousAccess): void {
    this.users.clear();
    for (const user of users) if (!this.users.has(user.username)) this.users.set(user.username, user);
    this.anonymous = anonymous;
  }
}
