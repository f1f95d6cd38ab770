/**
 * How the pipeline makes its writes durable: `commit(write)` runs `write` against the stores and
 * resolves once it is on disk. The SQLite implementation groups the writes of one event-loop turn
 * into one transaction (src/store/group-commit.ts); in-memory stores use `immediateCommit`.
 */
export type Commit = <T>(write: () => T) => Promise<T>;

export const immediateCommit: Commit = async (write) => write();
