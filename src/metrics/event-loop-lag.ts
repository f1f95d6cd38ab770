import { performance } from 'node:perf_hooks';

export interface EventLoopLagOptions {
  /** How often the loop is sampled, ms (default 100: ample for thresholds of a second). */
  intervalMs?: number;
  /** The recent max covers the current window and the previous one, ms (default 5000). */
  windowMs?: number;
}

/**
 * The longest event-loop block seen recently, measured as timer drift: a timer asked to fire every
 * `intervalMs` fires late by as long as the loop was busy. The report is the largest drift of the
 * current and the previous window (so a block stays visible for 5 to 10 s after it ended),
 * including a delay still in progress. A loop that is still blocked cannot report anything, nor
 * answer HTTP: a client's timeout is that signal.
 */
export class EventLoopLag {
  private timer: NodeJS.Timeout | undefined;
  private lastTick = 0;
  private windowStart = 0;
  private currentMaxMs = 0;
  private previousMaxMs = 0;
  private readonly intervalMs: number;
  private readonly windowMs: number;

  constructor(opts: EventLoopLagOptions = {}) {
    this.intervalMs = opts.intervalMs ?? 100;
    this.windowMs = opts.windowMs ?? 5000;
  }

  start(): void {
    if (this.timer) return;
    this.lastTick = this.windowStart = performance.now();
    this.currentMaxMs = this.previousMaxMs = 0;
    this.timer = setInterval(() => this.tick(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** The longest delay of the current and the previous window, ms (0 when not started). */
  recentMaxMs(): number {
    if (!this.timer) return 0;
    const inProgress = performance.now() - this.lastTick - this.intervalMs;
    return Math.max(0, this.previousMaxMs, this.currentMaxMs, inProgress);
  }

  private tick(): void {
    const now = performance.now();
    const delay = now - this.lastTick - this.intervalMs;
    this.lastTick = now;
    if (delay > this.currentMaxMs) this.currentMaxMs = delay;
    if (now - this.windowStart >= this.windowMs) {
      this.previousMaxMs = this.currentMaxMs;
      this.currentMaxMs = 0;
      this.windowStart = now;
    }
  }
}
