import type { WriteProbeResult } from '../store/health-probe.js';
import type { EventLoopLag } from './event-loop-lag.js';

export interface HealthChecks {
  event_loop: { ok: boolean; max_lag_ms: number; threshold_ms: number };
  database: { ok: boolean; checked_at: number; code?: string; error?: string };
}

export interface HealthVerdict {
  healthy: boolean;
  /** One line per failing check, for people and for the 503 body. */
  reasons: string[];
  checks: HealthChecks;
}

export interface HealthCheckDeps {
  lag: Pick<EventLoopLag, 'recentMaxMs'>;
  maxLagMs: number;
  probeDatabase(): WriteProbeResult;
  /** A probe result younger than this is reused, so a burst of requests costs one write (default 1000). */
  probeIntervalMs?: number;
  now?: () => number;
}

/** The verdict behind /healthz: the event loop was not blocked for long recently, and the database takes a write. */
export class HealthCheck {
  private lastProbe: { at: number; result: WriteProbeResult } | undefined;
  private readonly now: () => number;

  constructor(private readonly deps: HealthCheckDeps) {
    this.now = deps.now ?? Date.now;
  }

  verdict(): HealthVerdict {
    const maxLagMs = Math.round(this.deps.lag.recentMaxMs());
    const loopOk = maxLagMs <= this.deps.maxLagMs;
    const probe = this.probe();
    const reasons: string[] = [];
    if (!loopOk) reasons.push(`event loop blocked for ${maxLagMs} ms recently (threshold ${this.deps.maxLagMs} ms)`);
    if (!probe.result.ok) reasons.push(`database unwritable: ${probe.result.code}: ${probe.result.message}`);
    const database: HealthChecks['database'] = probe.result.ok
      ? { ok: true, checked_at: probe.at }
      : { ok: false, checked_at: probe.at, code: probe.result.code, error: probe.result.message };
    return {
      healthy: reasons.length === 0,
      reasons,
      checks: { event_loop: { ok: loopOk, max_lag_ms: maxLagMs, threshold_ms: this.deps.maxLagMs }, database },
    };
  }

  private probe(): { at: number; result: WriteProbeResult } {
    const now = this.now();
    if (this.lastProbe && now - this.lastProbe.at < (this.deps.probeIntervalMs ?? 1000)) return this.lastProbe;
    let result: WriteProbeResult;
    try {
      result = this.deps.probeDatabase();
    } catch (err) {
      result = { ok: false, code: 'PROBE_FAILED', message: err instanceof Error ? err.message : String(err) };
    }
    this.lastProbe = { at: now, result };
    return this.lastProbe;
  }
}
