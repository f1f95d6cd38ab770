// broker.limits.session_expiry_s, as mosquitto's persistent_client_expiration: a persistent
// session (CleanSession=0) whose client has not connected for that long is removed with its
// subscriptions and stored messages, so that clients that never return do not keep collecting
// messages. Checked at start (before the listeners open, so time spent stopped counts) and then
// periodically; each expired session is reported (log, journal, metrics).
import type { ExpiredSession, GatehousePersistence } from './gatehouse-persistence.js';

/** How often sessions are checked, at most and at least. */
const MAX_SWEEP_INTERVAL_MS = 60_000;
const MIN_SWEEP_INTERVAL_MS = 100;

export interface SessionExpiryOptions {
  persistence: GatehousePersistence;
  /** Age of a disconnected session that removes it, ms; 0 = never. */
  maxAgeMs: number;
  isAttached(clientId: string): boolean;
  report(expired: ExpiredSession): void;
  onError(err: unknown): void;
  now?: () => number;
}

export class SessionExpiry {
  private timer: NodeJS.Timeout | undefined;
  private expiredTotal = 0;
  private running: Promise<unknown> = Promise.resolve();

  constructor(private readonly options: SessionExpiryOptions) {}

  /** Sessions removed so far. */
  get expired(): number {
    return this.expiredTotal;
  }

  /** Checks once now, then periodically; does nothing when expiry is off. */
  async start(): Promise<void> {
    const { maxAgeMs } = this.options;
    if (maxAgeMs <= 0) return;
    await this.sweep();
    const interval = Math.min(MAX_SWEEP_INTERVAL_MS, Math.max(MIN_SWEEP_INTERVAL_MS, Math.floor(maxAgeMs / 4)));
    this.timer = setInterval(() => void this.sweep(), interval);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }

  /** Removes the sessions that are due; one check at a time. */
  sweep(): Promise<ExpiredSession[]> {
    const run = this.running.then(async () => {
      const { persistence, maxAgeMs, isAttached } = this.options;
      const now = (this.options.now ?? Date.now)();
      try {
        const expired = await persistence.expireSessions(now - maxAgeMs, isAttached);
        for (const session of expired) {
          this.expiredTotal++;
          this.options.report(session);
        }
        return expired;
      } catch (err) {
        this.options.onError(err);
        return [];
      }
    });
    this.running = run;
    return run;
  }
}
