// Waiting on a request that a link may give up on mid-flight.

/** Settles with `work`, unless `revoked` aborts first (the link went down): then rejects with its reason. */
export function raceRevoked<T>(work: Promise<T>, revoked: AbortSignal): Promise<T> {
  if (revoked.aborted) return Promise.reject(revoked.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(revoked.reason);
    revoked.addEventListener('abort', onAbort, { once: true });
    work.then(
      (value) => {
        revoked.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (err: unknown) => {
        revoked.removeEventListener('abort', onAbort);
        reject(err);
      },
    );
  });
}
