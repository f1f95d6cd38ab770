// Exclusive turns on a link: one request on the wire at a time, commands ahead of polls.
import { DeviceError, type RequestOptions } from '../driver-api.js';

export type Turn<T> = (signal: AbortSignal) => Promise<T>;

interface Entry {
  fn: Turn<unknown>;
  opts: RequestOptions;
  resolve(value: unknown): void;
  reject(err: unknown): void;
  /** Detaches the abort listener from opts.signal. */
  detach(): void;
}

/**
 * Runs functions one at a time. Waiting entries with priority 'command' go before those with
 * 'poll'; within a priority, first come first served.
 *
 * An entry whose opts.signal aborts while it waits leaves the queue and rejects with
 * DeviceError('timeout'). Once an entry holds the turn, opts.signal no longer applies: what it
 * started on the wire must finish (or hit the link's own timeout) before the next turn, or two
 * requests would overlap. The signal handed to fn aborts only when clear() revokes the turn
 * (the link went away), with clear()'s error as its reason.
 */
export class ExclusiveQueue {
  private readonly commands: Entry[] = [];
  private readonly polls: Entry[] = [];
  private running: AbortController | null = null;

  /** Entries waiting for their turn (not counting the one running). */
  get depth(): number {
    return this.commands.length + this.polls.length;
  }

  run<T>(fn: Turn<T>, opts: RequestOptions): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const signal = opts.signal;
      if (signal?.aborted) {
        reject(abortedWhileWaiting(signal));
        return;
      }
      const lane = opts.priority === 'command' ? this.commands : this.polls;
      const onAbort = (): void => {
        const index = lane.indexOf(entry);
        if (index === -1) return; // already running: see the class comment
        lane.splice(index, 1);
        reject(abortedWhileWaiting(signal as AbortSignal));
      };
      const entry: Entry = {
        fn: fn as Turn<unknown>,
        opts,
        resolve: resolve as (value: unknown) => void,
        reject,
        detach: () => signal?.removeEventListener('abort', onAbort),
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      lane.push(entry);
      this.pump();
    });
  }

  /** Rejects every waiting entry with `error` and revokes the running turn's signal. */
  clear(error: Error): void {
    const waiting = [...this.commands, ...this.polls];
    this.commands.length = 0;
    this.polls.length = 0;
    // Entries still waiting never reached the wire, whatever happened to the running one.
    const unsent = error instanceof DeviceError ? new DeviceError(error.code, error.message, { cause: error.cause, notApplied: true }) : error;
    for (const entry of waiting) {
      entry.detach();
      entry.reject(unsent);
    }
    this.running?.abort(error);
  }

  private pump(): void {
    if (this.running !== null) return;
    const entry = this.commands.shift() ?? this.polls.shift();
    if (entry === undefined) return;
    entry.detach();
    const turn = new AbortController();
    this.running = turn;
    let result: Promise<unknown>;
    try {
      result = entry.fn(turn.signal);
    } catch (err) {
      result = Promise.reject(err);
    }
    result.then(entry.resolve, entry.reject).finally(() => {
      this.running = null;
      this.pump();
    });
  }
}

function abortedWhileWaiting(signal: AbortSignal): DeviceError {
  return new DeviceError('timeout', 'request gave up while waiting for its turn on the link', {
    cause: signal.reason,
    notApplied: true,
  });
}
