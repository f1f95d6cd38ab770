// The simulator's timers, tracked so stop() can cancel every one of them and the process can exit.

export class Timers {
  private readonly pending = new Set<NodeJS.Timeout>();

  after(ms: number, run: () => void): NodeJS.Timeout {
    const handle = setTimeout(() => {
      this.pending.delete(handle);
      run();
    }, ms);
    this.pending.add(handle);
    return handle;
  }

  cancel(handle: NodeJS.Timeout | undefined): void {
    if (handle === undefined) return;
    clearTimeout(handle);
    this.pending.delete(handle);
  }

  cancelAll(): void {
    for (const handle of this.pending) clearTimeout(handle);
    this.pending.clear();
  }

  get size(): number {
    return this.pending.size;
  }
}
