// A small seedable PRNG (mulberry32) so a simulator run can be replayed exactly from its seed.
// Not for anything security related.

export type Range = readonly [min: number, max: number];

export class Random {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** A new seed when the caller gave none. */
  static freshSeed(): number {
    return Math.floor(Math.random() * 0x1_0000_0000);
  }

  /** An independent stream for a sub-part (e.g. one device), so its draws do not shift the others'. */
  static derive(seed: number, salt: number): Random {
    // 0x9e3779b9: the golden-ratio constant, spreads neighbouring salts far apart.
    return new Random(Math.imul((seed ^ Math.imul(salt + 1, 0x9e3779b9)) >>> 0, 0x85ebca6b));
  }

  /** Uniform in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 0x1_0000_0000;
  }

  /** Uniform in [min, max], rounded to whole milliseconds. */
  between([min, max]: Range): number {
    return Math.round(min + (max - min) * this.next());
  }

  chance(probability: number): boolean {
    return this.next() < probability;
  }

  /** Waiting time until the next event of a Poisson process with the given mean interval. */
  exponential(meanMs: number): number {
    return Math.round(-Math.log(1 - this.next()) * meanMs);
  }
}
