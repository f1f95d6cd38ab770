// Reads a child node process's heap through its inspector (started with --inspect=127.0.0.1:0):
// a forced full GC, then the heap in use. Nothing in the gateway changes for it.
import WebSocket from 'ws';

/** The inspector's WebSocket URL, from the "Debugger listening on ws://..." line the child prints. */
export function inspectorUrlIn(output: string): string | undefined {
  return /Debugger listening on (ws:\/\/127\.0\.0\.1:\d+\/[\w-]+)/.exec(output)?.[1];
}

export class InspectorProbe {
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve(result: unknown): void; reject(err: Error): void }>();

  private constructor(private readonly socket: WebSocket) {
    socket.on('message', (data) => {
      const message = JSON.parse(data.toString()) as { id?: number; result?: unknown; error?: { message: string } };
      const entry = message.id === undefined ? undefined : this.waiting.get(message.id);
      if (!entry) return;
      this.waiting.delete(message.id!);
      if (message.error) entry.reject(new Error(message.error.message));
      else entry.resolve(message.result);
    });
  }

  static connect(url: string): Promise<InspectorProbe> {
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(url);
      socket.once('open', () => resolve(new InspectorProbe(socket)));
      socket.once('error', reject);
    });
  }

  private call<T>(method: string, params: Record<string, unknown> = {}): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.waiting.set(id, { resolve: resolve as (r: unknown) => void, reject });
      this.socket.send(JSON.stringify({ id, method, params }));
    });
  }

  /** Heap in use after a forced full garbage collection, in MB. */
  async heapAfterGcMb(): Promise<number> {
    await this.call('HeapProfiler.collectGarbage');
    const usage = await this.call<{ usedSize: number }>('Runtime.getHeapUsage');
    return usage.usedSize / 1024 / 1024;
  }

  close(): void {
    this.socket.close();
  }
}
