// Bounded requests: a per-address request rate (a fixed one-minute window per address, the table
// itself bounded) and a body size limit read before anything parses it.
import type { IncomingMessage } from 'node:http';

/** Addresses remembered at most; beyond that the oldest window is forgotten. */
const MAX_TRACKED = 10_000;

export class RateLimiter {
  private readonly windows = new Map<string, { start: number; count: number }>();

  constructor(
    private readonly perMinute: () => number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Counts a request of `address`; false when it is over the limit for the current minute. */
  admit(address: string): boolean {
    const now = this.now();
    let window = this.windows.get(address);
    if (!window || now - window.start >= 60_000) {
      this.windows.delete(address);
      if (this.windows.size >= MAX_TRACKED) this.windows.delete(this.windows.keys().next().value!);
      window = { start: now, count: 0 };
      this.windows.set(address, window);
    }
    window.count++;
    return window.count <= this.perMinute();
  }
}

export class BodyTooLarge extends Error {
  constructor(readonly limit: number) {
    super(`request body larger than ${limit} bytes`);
  }
}

/** The request body, at most `limit` bytes (BodyTooLarge beyond, without reading the rest). */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) return Promise.reject(new BodyTooLarge(limit));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.off('data', onData);
        req.pause();
        reject(new BodyTooLarge(limit));
        return;
      }
      chunks.push(chunk);
    };
    req.on('data', onData);
    req.once('end', () => resolve(Buffer.concat(chunks)));
    req.once('error', reject);
  });
}
