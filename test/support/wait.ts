// Waiting in tests, one way everywhere: for a condition (until), for a promise with a deadline
// (within), and a plain delay (sleep) only where letting time pass is itself what a test needs.
// The deadlines are generous bounds for a loaded machine, never measurements: a test that waits
// for something asserts that it happens, not how fast.

/** The default deadline of until() and within(). */
export const WAIT_MS = 10_000;
const POLL_MS = 10;

/** What to wait for, in words; a function is called only when the wait fails (for a last value). */
export type What = string | (() => string);

type Falsy = undefined | null | false;

function timedOut(what: What, timeoutMs: number): Error {
  return new Error(`timed out after ${timeoutMs} ms waiting for ${typeof what === 'string' ? what : what()}`);
}

/** Resolves after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Polls `probe` (every 10 ms, or `pollMs` for a probe that costs something, such as an HTTP
 * request) until it returns something other than undefined, null or false, and resolves with
 * that. An async probe is awaited; a probe that throws ends the wait with its error (e.g. when the
 * peer it waits on has exited).
 */
export async function until<T>(what: What, probe: () => T | Falsy | Promise<T | Falsy>, timeoutMs = WAIT_MS, pollMs = POLL_MS): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== null && value !== false) return value;
    if (Date.now() > deadline) throw timedOut(what, timeoutMs);
    await sleep(pollMs);
  }
}

/** Resolves with `promise`, or rejects naming `what` if it takes longer than `timeoutMs`. */
export function within<T>(promise: Promise<T>, what: What, timeoutMs = WAIT_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(timedOut(what, timeoutMs)), timeoutMs);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
