// The reconnect cycle every transport shares: an attempt at start, another after a capped backoff
// delay when one fails or an established link is lost, until stop(). One warning per outage (later
// failures of the same outage at debug), and an "again" line with the attempts it took once the
// link is back up. What an attempt does, and what up and down mean, stay with the transport.
import type { DriverLogger } from '../driver-api.js';
import { Backoff } from './backoff.js';

export interface ReconnectMessages {
  /** Up at the first attempt after start(), or after failures not yet logged as an outage. */
  up: string;
  /** Up after a logged outage; the line carries `attempts`. */
  upAgain: string;
  /** The first failed attempt of an outage, at warn. */
  failed: string;
  /** Every later failed attempt of the same outage, at debug with `attempt`. */
  failedAgain: string;
  /** An established link went down, at warn. */
  lost: string;
}

export class ReconnectLoop {
  private readonly backoff: Backoff;
  private active = false;
  private timer: NodeJS.Timeout | null = null;
  /** Whether the current outage has been logged at warn level yet. */
  private outageLogged = false;
  private current: Promise<void> | null = null;

  /** `attempt` starts one try; one that returns a promise is tracked until it settles (see `attempting`). */
  constructor(
    backoff: { initialMs: number; maxMs: number },
    private readonly log: DriverLogger,
    private readonly messages: ReconnectMessages,
    private readonly attempt: () => Promise<void> | void,
  ) {
    this.backoff = new Backoff({ initialMs: backoff.initialMs, maxMs: backoff.maxMs });
  }

  /** Between start() and stop(); an attempt that completes while this is false must let go of what it opened. */
  get running(): boolean {
    return this.active;
  }

  /** The asynchronous attempt in progress, if any; stop() callers wait for it. */
  get attempting(): Promise<void> | null {
    return this.current;
  }

  /** Makes the first attempt at once. */
  start(): void {
    this.active = true;
    this.outageLogged = false;
    this.backoff.reset();
    this.attemptNow();
  }

  /** Cancels a waiting retry; an attempt in progress still completes (see `running`). */
  stop(): void {
    this.active = false;
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
  }

  /** The attempt succeeded: logs it and starts the backoff over. */
  up(details: object): void {
    const attempts = this.backoff.attempt;
    this.backoff.reset();
    if (this.outageLogged) this.log.info({ ...details, attempts }, this.messages.upAgain);
    else this.log.info(details, this.messages.up);
    this.outageLogged = false;
  }

  /** The attempt failed: logs it (unless stopped meanwhile) and retries after the next backoff delay. */
  failed(details: object): void {
    if (!this.active) return;
    if (this.outageLogged) {
      this.log.debug({ ...details, attempt: this.backoff.attempt }, this.messages.failedAgain);
    } else {
      this.log.warn(details, this.messages.failed);
      this.outageLogged = true;
    }
    this.retry();
  }

  /** The established link went down: logs it, lets `announce` tell the listeners, then retries after a backoff delay. */
  lost(details: object, announce: () => void): void {
    this.log.warn(details, this.messages.lost);
    this.outageLogged = true;
    announce();
    this.retry();
  }

  private attemptNow(): void {
    this.timer = null;
    if (!this.active) return;
    const attempt = this.attempt();
    if (attempt === undefined) return;
    this.current = attempt;
    void attempt.finally(() => {
      if (this.current === attempt) this.current = null;
    });
  }

  private retry(): void {
    if (!this.active) return;
    this.timer = setTimeout(() => this.attemptNow(), this.backoff.next());
  }
}
