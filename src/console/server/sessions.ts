// Console sessions: a random id in an HttpOnly cookie, a CSRF token the page sends back in a
// header, an idle and an absolute expiry. In memory only: a restart logs everybody out.
import { randomBytes, timingSafeEqual } from 'node:crypto';

export const COOKIE_NAME = 'gatehouse_session';

export interface ConsoleSession {
  readonly id: string;
  readonly csrf: string;
  readonly username: string;
  readonly createdAt: number;
  lastSeen: number;
}

export interface SessionLimits {
  idleMs: number;
  maxMs: number;
}

/** Sessions kept at most (each login makes one); beyond that the oldest goes. */
const MAX_SESSIONS = 1000;

export class SessionStore {
  private readonly sessions = new Map<string, ConsoleSession>();
  private readonly endedListeners: ((session: ConsoleSession, why: 'logout' | 'expired') => void)[] = [];

  constructor(
    private readonly limits: () => SessionLimits,
    private readonly now: () => number = Date.now,
  ) {}

  create(username: string): ConsoleSession {
    const now = this.now();
    if (this.sessions.size >= MAX_SESSIONS) this.end(this.sessions.values().next().value!, 'expired');
    const session = { id: randomBytes(32).toString('base64url'), csrf: randomBytes(32).toString('base64url'), username, createdAt: now, lastSeen: now };
    this.sessions.set(session.id, session);
    return session;
  }

  /** The live session of this id; `touch` counts the request as activity (the live feed does not). */
  find(id: string | undefined, touch: boolean): ConsoleSession | undefined {
    if (id === undefined) return undefined;
    const session = this.sessions.get(id);
    if (!session) return undefined;
    if (this.expired(session)) {
      this.end(session, 'expired');
      return undefined;
    }
    if (touch) session.lastSeen = this.now();
    return session;
  }

  end(session: ConsoleSession, why: 'logout' | 'expired'): void {
    if (!this.sessions.delete(session.id)) return;
    for (const listener of this.endedListeners) listener(session, why);
  }

  /** Ends every session of `username` (a reload removed the user). */
  endUser(username: string): void {
    for (const session of [...this.sessions.values()]) if (session.username === username) this.end(session, 'expired');
  }

  /** Ends the expired sessions (a timer calls this, so that live feeds close on time). */
  sweep(): void {
    for (const session of [...this.sessions.values()]) if (this.expired(session)) this.end(session, 'expired');
  }

  onEnded(listener: (session: ConsoleSession, why: 'logout' | 'expired') => void): void {
    this.endedListeners.push(listener);
  }

  usernames(): Set<string> {
    return new Set([...this.sessions.values()].map((s) => s.username));
  }

  private expired(session: ConsoleSession): boolean {
    const { idleMs, maxMs } = this.limits();
    const now = this.now();
    return now - session.lastSeen >= idleMs || now - session.createdAt >= maxMs;
  }
}

export function csrfMatches(session: ConsoleSession, sent: string | string[] | undefined): boolean {
  if (typeof sent !== 'string') return false;
  const a = Buffer.from(sent);
  const b = Buffer.from(session.csrf);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** The session cookie's value from a Cookie header. */
export function sessionIdFrom(cookieHeader: string | undefined): string | undefined {
  if (!cookieHeader) return undefined;
  for (const part of cookieHeader.split(';')) {
    const at = part.indexOf('=');
    if (at > 0 && part.slice(0, at).trim() === COOKIE_NAME) return part.slice(at + 1).trim();
  }
  return undefined;
}

export function sessionCookie(id: string, https: boolean, maxAgeS: number): string {
  return `${COOKIE_NAME}=${id}; HttpOnly; SameSite=Strict; Path=/; Max-Age=${maxAgeS}${https ? '; Secure' : ''}`;
}

export function clearedCookie(https: boolean): string {
  return `${COOKIE_NAME}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0${https ? '; Secure' : ''}`;
}
