// A SQLite broker state for broker tests: a real database file (WAL, synchronous=FULL) with its
// group commit, closed after the test; open it again on the same directory to restart.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import mqtt, { type MqttClient } from 'mqtt';
import type { BrokerOptions } from '../../../src/broker/broker.js';
import { openDatabase, type SqliteDatabase } from '../../../src/store/database.js';
import { GroupCommit } from '../../../src/store/group-commit.js';
import { SqliteBrokerState } from '../../../src/store/sqlite-broker-state.js';
import { startBroker, WAIT_MS, type BrokerUnderTest } from '../support.js';

export interface SqliteStateUnderTest {
  dir: string;
  db: SqliteDatabase;
  state: SqliteBrokerState;
  /** Flushes the group commit and closes the database (after the broker stopped). */
  close(): void;
}

export function tempDataDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-broker-state-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** The broker state in `dir` (a new temporary one when absent); the caller closes it. */
export function sqliteState(t: TestContext, dir = tempDataDir(t)): SqliteStateUnderTest {
  const db = openDatabase(dir);
  const commits = new GroupCommit(db);
  let closed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    commits.flush();
    db.close();
  };
  return { dir, db, state: new SqliteBrokerState(db, commits.run, { error: () => undefined }), close };
}

/** A broker (test/broker/support.ts) whose state is in `dir`; stopped, then its database closed, after the test. */
export async function startSqliteBroker(t: TestContext, dir: string, overrides: Partial<BrokerOptions> = {}): Promise<BrokerUnderTest & { sqlite: SqliteStateUnderTest }> {
  const sqlite = sqliteState(t, dir);
  // t.after hooks run in the order registered: the broker's stop (registered by startBroker) first.
  const started = await startBroker(t, { ...overrides, state: sqlite.state }).catch((err: unknown) => {
    sqlite.close();
    throw err;
  });
  t.after(() => sqlite.close());
  return { ...started, sqlite };
}

/** Stops a broker started by startSqliteBroker and closes its database, as a gateway's clean stop does. */
export async function stopSqliteBroker(started: { broker: { stop(): Promise<void> }; sqlite: SqliteStateUnderTest }): Promise<void> {
  await started.broker.stop();
  started.sqlite.close();
}

/** MQTT.js with CleanSession=0 (reconnect off), and the CONNACK's Session Present flag (MQTT-3.2.2-2). */
export function connectPersistent(
  t: TestContext,
  port: number,
  opts: { clientId: string; username: string; password: string },
): Promise<{ client: MqttClient; sessionPresent: boolean }> {
  const client = mqtt.connect({ host: '127.0.0.1', port, protocolVersion: 4, reconnectPeriod: 0, connectTimeout: WAIT_MS, clean: false, ...opts });
  t.after(() => new Promise<void>((resolve) => client.end(true, {}, () => resolve())));
  return new Promise((resolve, reject) => {
    client.once('connect', (connack) => resolve({ client, sessionPresent: connack.sessionPresent }));
    client.once('error', reject);
  });
}
