import { performance } from 'node:perf_hooks';
import { DeviceError } from '../../driver-api.js';
import { OutputMutex } from '../output-mutex.js';
import type { OutputPort } from '../kinds/types.js';

/**
 * The one lane all output writes of a device take: writes never overtake each other, a write that
 * switches something on is refused once the device is stopping, and a command's write is withdrawn
 * when its command timed out before the write's turn came. It also knows whether a readback can be
 * trusted: one taken before the last write ended says nothing about the outputs now.
 */
export class OutputLane {
  private readonly mutex = new OutputMutex();
  private lastWriteEndedAt = -Infinity;
  private stopping = false;

  constructor(
    private readonly port: OutputPort,
    private readonly kind: string,
  ) {}

  get stopped(): boolean {
    return this.stopping;
  }

  /** No new work after this; writes that switch off (a pulse's end, a safe state) still go. */
  stop(): void {
    this.stopping = true;
  }

  /** Runs `section` once every earlier section has finished. */
  run<T>(section: () => Promise<T>): Promise<T> {
    return this.mutex.run(section);
  }

  /** Resolves once every section queued so far has finished. */
  settle(): Promise<void> {
    return this.mutex.run(async () => undefined);
  }

  /** One write, to be called inside a section. A command's write takes its signal; a pulse's end takes none. */
  async write(output: string, on: boolean, signal?: AbortSignal, args?: Readonly<Record<string, string | number>>): Promise<void> {
    if (on && this.stopping) throw new DeviceError('offline', `gatehouse is stopping; the ${this.kind} is not actuated`, { notApplied: true });
    if (signal?.aborted) throw new DeviceError('timeout', 'the command timed out before its write could start; nothing was written', { notApplied: true });
    try {
      await this.port.write(output, on, signal, args);
    } finally {
      this.lastWriteEndedAt = performance.now();
    }
  }

  /** A reading whose read started at `readStartedAt` (performance.now()) shows the outputs as they are now. */
  fresh(readStartedAt: number): boolean {
    return readStartedAt > this.lastWriteEndedAt && !this.mutex.busy;
  }
}
