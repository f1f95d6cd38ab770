// The systemd watchdog keep-alive: WATCHDOG=1 every half watchdog period, sent from a timer and
// only while the event loop keeps up. Everything gatehouse does (MQTT, commands, device buses)
// runs on this one loop, so a loop that runs its timers on time is a gateway that works; a device
// bus that stops answering does not block the loop and does not stop the pings.
import { monitorEventLoopDelay, performance, type IntervalHistogram } from 'node:perf_hooks';

export interface WatchdogLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

export interface WatchdogOptions {
  /** Time between pings, ms (half of WATCHDOG_USEC). */
  intervalMs: number;
  /** A loop delay beyond this since the last ping skips the next one, ms. */
  maxLagMs: number;
  ping(): void;
  log: WatchdogLogger;
}

/** The event-loop delay monitor's sampling period, ms. */
const LAG_RESOLUTION_MS = 20;

export class Watchdog {
  private timer: NodeJS.Timeout | undefined;
  private histogram: IntervalHistogram | undefined;
  private lastTickAt = 0;
  private stalled = false;

  constructor(private readonly opts: WatchdogOptions) {}

  start(): void {
    if (this.timer) return;
    this.histogram = monitorEventLoopDelay({ resolution: LAG_RESOLUTION_MS });
    this.histogram.enable();
    this.lastTickAt = performance.now();
    this.opts.ping();
    this.timer = setInterval(() => this.tick(), this.opts.intervalMs);
    // The pings never keep the process alive on their own.
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.histogram?.disable();
    this.histogram = undefined;
  }

  /** The longest the loop was held up since the previous tick, ms: the monitor's worst delay, or this timer's own lateness. */
  private lagSinceLastTick(): number {
    const now = performance.now();
    const late = now - this.lastTickAt - this.opts.intervalMs;
    this.lastTickAt = now;
    const histogram = this.histogram;
    const worst = histogram && histogram.count > 0 ? histogram.max / 1e6 : 0;
    histogram?.reset();
    return Math.max(late, worst);
  }

  private tick(): void {
    const lagMs = Math.round(this.lagSinceLastTick());
    if (lagMs > this.opts.maxLagMs) {
      if (!this.stalled) this.opts.log.warn({ lag_ms: lagMs, max_lag_ms: this.opts.maxLagMs }, 'event loop stalled; watchdog ping skipped');
      this.stalled = true;
      return;
    }
    if (this.stalled) this.opts.log.info({ lag_ms: lagMs }, 'event loop keeping up again; watchdog pings resumed');
    this.stalled = false;
    this.opts.ping();
  }
}
