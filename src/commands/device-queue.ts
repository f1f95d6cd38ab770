// Per-device FIFO: one command at a time per device, in arrival order.

interface Job {
  run: () => Promise<void>;
  started: boolean;
  cancelled: boolean;
}

export class DeviceQueue {
  private readonly waiting: Job[] = [];
  private active = false;

  /** Commands waiting plus the one running. */
  get depth(): number {
    return this.waiting.length + (this.active ? 1 : 0);
  }

  /** Queue a job. `cancel()` removes it if it has not started and says whether it did. */
  push(run: () => Promise<void>): { cancel(): boolean } {
    const job: Job = { run, started: false, cancelled: false };
    this.waiting.push(job);
    this.drain();
    return {
      cancel: () => {
        if (job.started || job.cancelled) return false;
        job.cancelled = true;
        this.waiting.splice(this.waiting.indexOf(job), 1);
        return true;
      },
    };
  }

  private drain(): void {
    if (this.active) return;
    const job = this.waiting.shift();
    if (!job) return;
    this.active = true;
    job.started = true;
    job
      .run()
      .catch(() => undefined)
      .finally(() => {
        this.active = false;
        this.drain();
      });
  }
}
