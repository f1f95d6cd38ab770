// The part of unix-dgram 2.x (no bundled types) that sd-notify.ts uses.
declare module 'unix-dgram' {
  import type { EventEmitter } from 'node:events';

  export interface UnixDgramSocket extends EventEmitter {
    /** Sends one datagram to the socket bound at `path`; errors go to `callback` (or 'error'). */
    send(buf: Buffer, offset: number, length: number, path: string, callback?: (err?: Error & { code?: number | string }) => void): void;
    bind(path: string): void;
    close(): void;
    on(event: 'message', listener: (buf: Buffer, rinfo: { size: number; path?: string }) => void): this;
    on(event: 'error', listener: (err: Error) => void): this;
    on(event: 'listening' | 'congestion' | 'writable', listener: (...args: unknown[]) => void): this;
  }

  export function createSocket(type: 'unix_dgram', listener?: (buf: Buffer, rinfo: { size: number; path?: string }) => void): UnixDgramSocket;
}
