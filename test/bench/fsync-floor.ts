// The durability part of the floor: one write and fsync of a small file on the same file system as
// the gateway's data dir, as the claim of a command id costs (synchronous=FULL commits with one
// fsync of the WAL). Done through libuv's thread pool, as the bench's other lanes keep running.
import { open, rm, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';

/** About the size of one journal row plus its WAL frame header. */
const RECORD = Buffer.alloc(512, 0x2a);

export class FsyncFloor {
  private handle: FileHandle | undefined;
  private offset = 0;

  constructor(private readonly dir: string) {}

  private get path(): string {
    return join(this.dir, 'fsync-floor.bin');
  }

  async start(): Promise<void> {
    this.handle = await open(this.path, 'w');
  }

  /** Appends one record and fsyncs the file; returns the time in ms. */
  async writeAndSync(): Promise<number> {
    const handle = this.handle;
    if (!handle) throw new Error('FsyncFloor not started');
    const startedAt = performance.now();
    await handle.write(RECORD, 0, RECORD.length, this.offset);
    // Wrap like a WAL does, so the file stays small and each sync writes one page.
    this.offset = (this.offset + RECORD.length) % (1 << 20);
    await handle.sync();
    return performance.now() - startedAt;
  }

  async stop(): Promise<void> {
    await this.handle?.close();
    this.handle = undefined;
    await rm(this.path, { force: true });
  }
}
