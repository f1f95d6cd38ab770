// Failed-login rate limit and lockout: pure bookkeeping with an injectable clock; the broker
// decides what to log, journal and answer (src/broker/login-guard.ts).
//
// Rules:
// - A failed login (wrong password, unknown user, missing password, anonymous refused) counts
//   once for its source address and once for its username, in a sliding window.
// - `maxFailuresPerAddress` failures of one address, or `maxFailuresPerUsername` failures for one
//   username, within `windowMs` lock that address (every username) or that username (every
//   address) for `lockoutMs`. A lockout is never extended: attempts refused during it do not count.
// - A successful login forgives only the failures that the same address made for the same
//   username (typing errors). It never touches failures for other usernames, failures from other
//   addresses, or an active lockout: knowing one password must not clear anybody's lockout.
// - Usernames are tracked whether or not they exist, so a lockout says nothing about existence.
// - Memory is bounded: at most `maxTracked` addresses and `maxTracked` usernames with failures, and
//   as many lockouts of each; beyond that the least recently failed entry (or the lockout that ends
//   first) is forgotten.
import { createHash } from 'node:crypto';
import { isIPv4, isIPv6 } from 'node:net';

export interface LoginLimiterOptions {
  /** Failures of one address within windowMs that lock it; 0 turns address lockouts off. */
  maxFailuresPerAddress: number;
  /** Failures for one username within windowMs that lock it; 0 turns username lockouts off. */
  maxFailuresPerUsername: number;
  windowMs: number;
  lockoutMs: number;
  /** Addresses, and separately usernames, tracked at most. */
  maxTracked: number;
  /** Refused attempts per lockout that are reported one by one; later ones are only counted. */
  reportedRefusalsPerLockout: number;
}

export const DEFAULT_LOGIN_LIMITS: LoginLimiterOptions = {
  maxFailuresPerAddress: 10,
  maxFailuresPerUsername: 10,
  windowMs: 10 * 60_000,
  lockoutMs: 15 * 60_000,
  maxTracked: 10_000,
  reportedRefusalsPerLockout: 5,
};

export type LockoutScope = 'address' | 'username';

export interface Lockout {
  scope: LockoutScope;
  /** The locked address key (see addressKey) or username key (see usernameKey). */
  key: string;
  since: number;
  until: number;
  /** Failures in the window that started it. */
  failures: number;
  /** Attempts refused while it lasted. */
  refused: number;
}

export type Admission =
  | { allowed: true }
  /** `report`: this refusal is among the first reportedRefusalsPerLockout of its lockout. */
  | { allowed: false; lockout: Lockout; report: boolean };

export interface LockoutChanges {
  started: Lockout[];
  /** Lockouts forgotten early to stay within maxTracked. */
  evicted: Lockout[];
}

interface Failure {
  at: number;
  /** The other half of the attempt: the username key for an address entry, and vice versa. */
  other: string | undefined;
}

// Usernames come from the wire (up to 65535 bytes): long ones are kept as a digest.
const MAX_KEY_CHARS = 128;

export function usernameKey(username: string): string {
  return username.length <= MAX_KEY_CHARS ? username : `sha256:${createHash('sha256').update(username).digest('hex')}`;
}

/** The address part of a listener's peer string: "1.2.3.4:5" -> "1.2.3.4", "[::1]:5" -> "::1". */
export function addressOf(peer: string): string {
  let address = peer;
  if (peer.startsWith('[')) {
    const end = peer.indexOf(']');
    address = end > 0 ? peer.slice(1, end) : peer;
  } else if (/^[^:]+:\d+$/.test(peer)) {
    address = peer.slice(0, peer.lastIndexOf(':'));
  }
  // An IPv4 client on a dual-stack socket appears as ::ffff:a.b.c.d.
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  return mapped ? mapped[1] : address;
}

function expandIPv6(address: string): number[] | null {
  if (!isIPv6(address)) return null;
  let text = address.toLowerCase().replace(/%.*$/, '');
  const v4 = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (v4) {
    const [a, b, c, d] = v4.slice(1).map(Number);
    text = `${text.slice(0, v4.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.split('::');
  const left = head ? head.split(':') : [];
  const right = tail === undefined ? [] : tail ? tail.split(':') : [];
  const missing = 8 - left.length - right.length;
  if (tail === undefined ? left.length !== 8 : missing < 0) return null;
  return [...left, ...new Array<string>(tail === undefined ? 0 : missing).fill('0'), ...right].map((h) => parseInt(h, 16));
}

/**
 * The key failures are counted under: an IPv4 address as is, an IPv6 address by its /64 prefix
 * (one subscriber line or host usually owns a whole /64, so counting single addresses there
 * would let one attacker rotate through 2^64 of them), anything else verbatim.
 */
export function addressKey(address: string): string {
  if (isIPv4(address)) return address;
  const groups = expandIPv6(address);
  if (!groups) return address;
  return `${groups.slice(0, 4).map((g) => g.toString(16)).join(':')}::/64`;
}

/** Moves `key` to the newest end of `map` (Maps iterate in insertion order). */
function touch<V>(map: Map<string, V>, key: string, value: V): void {
  map.delete(key);
  map.set(key, value);
}

export class LoginLimiter {
  private readonly failures: Record<LockoutScope, Map<string, Failure[]>> = { address: new Map(), username: new Map() };
  private readonly locks: Record<LockoutScope, Map<string, Lockout>> = { address: new Map(), username: new Map() };

  constructor(
    private readonly opts: LoginLimiterOptions,
    private readonly now: () => number = Date.now,
  ) {}

  /** Whether an attempt from `address` for `username` may go on to password checking. */
  admit(address: string, username: string | undefined): Admission {
    const now = this.now();
    const byAddress = this.activeLock('address', addressKey(address), now);
    const lockout = byAddress ?? (username === undefined ? undefined : this.activeLock('username', usernameKey(username), now));
    if (!lockout) return { allowed: true };
    lockout.refused++;
    return { allowed: false, lockout, report: lockout.refused <= this.opts.reportedRefusalsPerLockout };
  }

  recordFailure(address: string, username: string | undefined): LockoutChanges {
    const changes: LockoutChanges = { started: [], evicted: [] };
    const addr = addressKey(address);
    const user = username === undefined ? undefined : usernameKey(username);
    this.count('address', addr, user, this.opts.maxFailuresPerAddress, changes);
    if (user !== undefined) this.count('username', user, addr, this.opts.maxFailuresPerUsername, changes);
    return changes;
  }

  /** Forgets the failures this address made for this username, and nothing else. */
  recordSuccess(address: string, username: string | undefined): void {
    if (username === undefined) return;
    const addr = addressKey(address);
    const user = usernameKey(username);
    this.forgive('address', addr, user);
    this.forgive('username', user, addr);
  }

  // Lockouts are kept in the order they started and all last lockoutMs, so each map is also in
  // the order they end: expire() and nextExpiry() look at the front only.

  /** Removes and returns the lockouts that have ended. */
  expire(): Lockout[] {
    const now = this.now();
    const ended: Lockout[] = [];
    for (const scope of ['address', 'username'] as const) {
      for (const [key, lock] of this.locks[scope]) {
        if (lock.until > now) break;
        this.locks[scope].delete(key);
        ended.push(lock);
      }
    }
    return ended;
  }

  /** When the next lockout ends, if any is active. */
  nextExpiry(): number | undefined {
    const ends = (['address', 'username'] as const).map((scope) => this.locks[scope].values().next().value?.until);
    const known = ends.filter((end): end is number => end !== undefined);
    return known.length === 0 ? undefined : Math.min(...known);
  }

  activeLockouts(): number {
    return this.locks.address.size + this.locks.username.size;
  }

  /** Entries held (failure lists and lockouts), for tests of the memory bound. */
  trackedEntries(): { addresses: number; usernames: number; lockouts: number } {
    return { addresses: this.failures.address.size, usernames: this.failures.username.size, lockouts: this.activeLockouts() };
  }

  private activeLock(scope: LockoutScope, key: string, now: number): Lockout | undefined {
    const lock = this.locks[scope].get(key);
    return lock && lock.until > now ? lock : undefined;
  }

  private count(scope: LockoutScope, key: string, other: string | undefined, max: number, changes: LockoutChanges): void {
    if (max <= 0) return;
    const now = this.now();
    // Failures made while locked (attempts already admitted when the lockout began) start nothing new.
    if (this.activeLock(scope, key, now)) return;
    const since = now - this.opts.windowMs;
    const list = (this.failures[scope].get(key) ?? []).filter((f) => f.at > since);
    list.push({ at: now, other });
    // Only the newest `max` failures can decide anything.
    if (list.length > max) list.splice(0, list.length - max);
    if (list.length >= max) {
      this.failures[scope].delete(key);
      const lock: Lockout = { scope, key, since: now, until: now + this.opts.lockoutMs, failures: list.length, refused: 0 };
      // An ended lockout still in the map (expire() not called yet) is replaced at the back.
      touch(this.locks[scope], key, lock);
      changes.started.push(lock);
      while (this.locks[scope].size > this.opts.maxTracked) {
        const [oldestKey, oldest] = this.locks[scope].entries().next().value as [string, Lockout];
        this.locks[scope].delete(oldestKey);
        changes.evicted.push(oldest);
      }
      return;
    }
    touch(this.failures[scope], key, list);
    while (this.failures[scope].size > this.opts.maxTracked) {
      this.failures[scope].delete(this.failures[scope].keys().next().value as string);
    }
  }

  private forgive(scope: LockoutScope, key: string, other: string): void {
    const list = this.failures[scope].get(key);
    if (!list) return;
    const kept = list.filter((f) => f.other !== other);
    if (kept.length === 0) this.failures[scope].delete(key);
    else this.failures[scope].set(key, kept);
  }
}
