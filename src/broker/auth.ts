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
}

export interface AnonymousAccess {
  enabled: boolean;
  publish: string[];
  subscribe: string[];
}

/** CONNACK return codes of MQTT 3.1.1 table 3.1 used for refused logins. */
export const CONNACK_BAD_CREDENTIALS = 4;
export const CONNACK_NOT_AUTHORIZED = 5;

export type AuthFailureReason = 'unknown_user' | 'bad_password' | 'missing_password' | 'anonymous_disabled';

export type AuthResult =
  | { ok: true; username?: string; rules: AclRules }
  | { ok: false; returnCode: typeof CONNACK_BAD_CREDENTIALS | typeof CONNACK_NOT_AUTHORIZED; reason: AuthFailureReason };

export class Authenticator {
  private readonly users = new Map<string, UserEntry>();
  // Verified for unknown usernames so that their answer takes as long as a wrong password's.
  private decoyHash: string | null = null;

  constructor(
    users: readonly UserEntry[],
    private readonly anonymous: AnonymousAccess,
  ) {
    for (const user of users) if (!this.users.has(user.username)) this.users.set(user.username, user);
  }

  async start(): Promise<void> {
    this.decoyHash ??= await hashPassword(randomBytes(16).toString('hex'));
  }

  async authenticate(username: string | undefined, password: Buffer | undefined): Promise<AuthResult> {
    if (username === undefined) {
      if (!this.anonymous.enabled) return { ok: false, returnCode: CONNACK_NOT_AUTHORIZED, reason: 'anonymous_disabled' };
      return { ok: true, rules: { publish: this.anonymous.publish, subscribe: this.anonymous.subscribe } };
    }
    const user = this.users.get(username);
    const secret = password === undefined ? '' : password.toString('utf8');
    const matches = await verifyPassword(secret, user?.password_hash ?? this.decoyHash ?? '');
    if (!user) return { ok: false, returnCode: CONNACK_BAD_CREDENTIALS, reason: 'unknown_user' };
    if (password === undefined) return { ok: false, returnCode: CONNACK_BAD_CREDENTIALS, reason: 'missing_password' };
    if (!matches) return { ok: false, returnCode: CONNACK_BAD_CREDENTIALS, reason: 'bad_password' };
    return { ok: true, username, rules: { publish: user.publish, subscribe: user.subscribe } };
  }
}
