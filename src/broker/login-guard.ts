// The broker's side of the login limiter (login-limiter.ts): which attempts are refused before
// any password is checked, what is logged and journaled, the counters, and the timer that
// reports lockout ends.
import type { Logger } from 'pino';
import type { SecurityReporter } from './security-event.js';
import { LoginLimiter, addressOf, type Lockout, type LoginLimiterOptions } from './login-limiter.js';

export interface LoginAttempt {
  clientId: string;
  username?: string;
  /** "address:port" as the listener reported it. */
  peer: string;
}

export type LoginRefusal = { lockout: Lockout; report: boolean };

export interface LoginCounters {
  /** Logins refused for their credentials (not counting refusals during a lockout). */
  loginFailures: number;
  /** Lockouts started. */
  lockouts: number;
  /** Login attempts refused, without a password check, because of a lockout. */
  loginsRefusedLockedOut: number;
  /** Lockouts in force now. */
  activeLockouts: number;
}

function describe(lock: Lockout, opts: LoginLimiterOptions): string {
  const what = lock.scope === 'address' ? `address ${lock.key}` : `username ${lock.key}`;
  return `${what} locked for ${Math.round(opts.lockoutMs / 1000)} s after ${lock.failures} failed logins within ${Math.round(opts.windowMs / 1000)} s`;
}

export class LoginGuard {
  private readonly limiter: LoginLimiter;
  /** The attempt that started each lockout, for the log line at its end. */
  private readonly starters = new WeakMap<Lockout, LoginAttempt>();
  private timer: NodeJS.Timeout | null = null;
  private loginFailures = 0;
  private lockouts = 0;
  private loginsRefusedLockedOut = 0;

  constructor(
    private readonly opts: LoginLimiterOptions,
    private readonly log: Logger,
    /** Logs and journals a security event (security-event.ts). */
    private readonly report: SecurityReporter,
  ) {
    this.limiter = new LoginLimiter(opts);
  }

  /** null when the attempt may go on to the password check; otherwise it is refused. */
  refusal(attempt: LoginAttempt): LoginRefusal | null {
    this.endExpired();
    const admission = this.limiter.admit(addressOf(attempt.peer), attempt.username);
    if (admission.allowed) return null;
    this.loginsRefusedLockedOut++;
    const { lockout, report } = admission;
    if (!report) {
      this.log.debug({ ...attempt, scope: lockout.scope, until: new Date(lockout.until).toISOString() }, 'mqtt login refused during lockout');
    } else if (lockout.refused === this.opts.reportedRefusalsPerLockout) {
      this.log.warn(
        { scope: lockout.scope, key: lockout.key, until: new Date(lockout.until).toISOString() },
        'further logins refused during this lockout are counted, not journaled',
      );
    }
    return { lockout, report };
  }

  failed(attempt: LoginAttempt): void {
    this.loginFailures++;
    this.endExpired();
    const changes = this.limiter.recordFailure(addressOf(attempt.peer), attempt.username);
    for (const lock of changes.started) {
      this.lockouts++;
      this.starters.set(lock, attempt);
      this.report(
        { type: 'lockout', clientId: attempt.clientId, username: attempt.username, peer: attempt.peer, reason: describe(lock, this.opts) },
        'mqtt login lockout started',
      );
    }
    for (const lock of changes.evicted) {
      this.log.warn({ scope: lock.scope, key: lock.key, until: new Date(lock.until).toISOString() }, 'lockout forgotten early: too many lockouts tracked');
    }
    this.schedule();
  }

  succeeded(attempt: LoginAttempt): void {
    this.limiter.recordSuccess(addressOf(attempt.peer), attempt.username);
  }

  counters(): LoginCounters {
    return {
      loginFailures: this.loginFailures,
      lockouts: this.lockouts,
      loginsRefusedLockedOut: this.loginsRefusedLockedOut,
      activeLockouts: this.limiter.activeLockouts(),
    };
  }

  close(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private endExpired(): void {
    for (const lock of this.limiter.expire()) {
      const starter = this.starters.get(lock);
      this.log.info(
        {
          scope: lock.scope,
          key: lock.key,
          peer: starter?.peer,
          username: starter?.username,
          since: new Date(lock.since).toISOString(),
          refused: lock.refused,
        },
        'mqtt login lockout ended',
      );
    }
  }

  /** Every lockout lasts lockoutMs, so a new one never ends before the one already awaited. */
  private schedule(): void {
    if (this.timer) return;
    const next = this.limiter.nextExpiry();
    if (next === undefined) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.endExpired();
      this.schedule();
    }, Math.max(0, next - Date.now()) + 1);
    this.timer.unref();
  }
}
