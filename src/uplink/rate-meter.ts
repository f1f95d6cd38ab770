/** Events per second over a sliding window of whole seconds (default the last 10). */
export class RateMeter {
  private readonly buckets: number[];
  private readonly seconds: number[];

  constructor(
    private readonly windowS = 10,
    private readonly now: () => number = Date.now,
  ) {
    this.buckets = new Array(windowS).fill(0);
    this.seconds = new Array(windowS).fill(-1);
  }

  add(count = 1): void {
    const second = Math.floor(this.now() / 1000);
    const i = second % this.windowS;
    if (this.seconds[i] !== second) {
      this.seconds[i] = second;
      this.buckets[i] = 0;
    }
    this.buckets[i] += count;
  }

  /** Mean rate over the last `windowS` complete and current seconds. */
  perSecond(): number {
    const second = Math.floor(this.now() / 1000);
    let sum = 0;
    for (let i = 0; i < this.windowS; i++) if (second - this.seconds[i] < this.windowS) sum += this.buckets[i];
    return Math.round((sum / this.windowS) * 10) / 10;
  }
}
