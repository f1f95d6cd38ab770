// Capped exponential backoff with jitter, for reconnecting links.

export interface BackoffOptions {
  /** Delay before the first retry. */
  initialMs: number;
  /** No delay ever exceeds this. */
  maxMs: number;
  /** Growth per attempt (default 2). */
  factor?: number;
  /** Fraction 0..1 by which a delay may be shortened at random (default 0.2). */
  jitter?: number;
  /** Source of randomness in [0, 1) (default Math.random); tests pass a fixed one. */
  random?: () => number;
}

export class Backoff {
  private readonly initialMs: number;
  private readonly maxMs: number;
  private readonly factor: number;
  private readonly jitter: number;
  private readonly random: () => number;
  private attempts = 0;

  constructor(opts: BackoffOptions) {
    const { initialMs, maxMs, factor = 2, jitter = 0.2, random = Math.random } = opts;
    // Zero would make a dead peer a hot reconnect loop.
    if (!Number.isFinite(initialMs) || initialMs < 1) throw new RangeError(`backoff initialMs must be >= 1, got ${initialMs}`);
    if (!Number.isFinite(maxMs) || maxMs < initialMs) throw new RangeError(`backoff maxMs must be >= initialMs, got ${maxMs}`);
    if (!Number.isFinite(factor) || factor < 1) throw new RangeError(`backoff factor must be >= 1, got ${factor}`);
    if (!(jitter >= 0 && jitter <= 1)) throw new RangeError(`backoff jitter must be within 0..1, got ${jitter}`);
    this.initialMs = initialMs;
    this.maxMs = maxMs;
    this.factor = factor;
    this.jitter = jitter;
    this.random = random;
  }

  /** How many delays next() has handed out since construction or the last reset(). */
  get attempt(): number {
    return this.attempts;
  }

  /**
   * The delay before the next retry: initialMs * factor^attempt, capped at maxMs, then shortened
   * by up to `jitter` of itself. Jitter only shortens, so the cap stays a hard ceiling while
   * links that dropped together still spread their retries out.
   */
  next(): number {
    const uncapped = this.initialMs * Math.pow(this.factor, this.attempts);
    const base = Math.min(this.maxMs, uncapped);
    this.attempts += 1;
    return Math.round(base * (1 - this.jitter * this.random()));
  }

  /** Start over from initialMs (call once the link is up again). */
  reset(): void {
    this.attempts = 0;
  }
}
