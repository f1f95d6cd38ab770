import { openDatabase, type SqliteDatabase } from './database.js';
import { nextSession } from './gateway-meta.js';
import { GroupCommit } from './group-commit.js';
import { PooledSync } from './pooled-sync.js';
import { SqliteJournal } from './sqlite-journal.js';
import { SqliteLedger } from './sqlite-ledger.js';
import { WalSync } from './wal-sync.js';

/** The running gateway's database and the stores on it; writes go through `commits`. */
export interface GatewayStore {
  db: SqliteDatabase;
  ledger: SqliteLedger;
  journal: SqliteJournal;
  /** Group commits at synchronous=NORMAL made durable by a pooled fsync of the `-wal` file. */
  commits: GroupCommit;
  /** That fsync, for other writers that commit at NORMAL (the cloud outbox). */
  syncs: PooledSync;
  /** This start's session number (one more than the last). */
  session: number;
  /** Commits what is queued, waits until it is on disk, closes the database. */
  close(): Promise<void>;
}

export function openGatewayStore(dataDir: string): GatewayStore {
  const db = openDatabase(dataDir);
  let wal: WalSync | undefined;
  let session: number;
  try {
    wal = WalSync.open(db);
    // Written at the connection's own level (FULL): a session number is never handed out twice.
    session = nextSession(db);
  } catch (err) {
    wal?.close();
    db.close();
    throw err;
  }
  const syncs = new PooledSync(() => wal.sync());
  const commits = new GroupCommit(db, { sync: syncs });
  return {
    db,
    ledger: new SqliteLedger(db),
    journal: new SqliteJournal(db),
    commits,
    syncs,
    session,
    async close() {
      await commits.drain();
      await syncs.idle();
      wal.close();
      db.close();
    },
  };
}
