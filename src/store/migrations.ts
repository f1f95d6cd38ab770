import type { SqliteDatabase } from './database.js';

// Each entry moves the schema one version forward; PRAGMA user_version records where a database is.
const MIGRATIONS: string[] = [
  `CREATE TABLE command_ids (
     scope       TEXT NOT NULL,
     id          TEXT NOT NULL,
     created_at  INTEGER NOT NULL,
     finished_at INTEGER,
     input       TEXT NOT NULL,
     result      TEXT,
     PRIMARY KEY (scope, id)
   );
   CREATE INDEX command_ids_created ON command_ids (created_at);
   CREATE TABLE journal (
     seq         INTEGER PRIMARY KEY AUTOINCREMENT,
     at          INTEGER NOT NULL,
     type        TEXT NOT NULL,
     kind        TEXT,
     device      TEXT,
     command     TEXT,
     command_id  TEXT,
     source      TEXT,
     client_id   TEXT,
     username    TEXT,
     peer        TEXT,
     payload     TEXT,
     status      TEXT,
     code        TEXT,
     message     TEXT,
     latency_ms  INTEGER,
     duplicate   INTEGER NOT NULL DEFAULT 0
   );
   CREATE INDEX journal_at ON journal (at);
   CREATE TABLE gateway_meta (
     key   TEXT PRIMARY KEY,
     value TEXT NOT NULL
   );`,
  // The cloud uplink's outbox (src/store/sqlite-outbox.ts). class: 0 retained, 1 result,
  // 2 security, 3 telemetry. AUTOINCREMENT: a seq is never reused, so send cursors stay valid.
  `CREATE TABLE outbox (
     seq        INTEGER PRIMARY KEY AUTOINCREMENT,
     created_at INTEGER NOT NULL,
     class      INTEGER NOT NULL,
     topic      TEXT NOT NULL,
     payload    BLOB NOT NULL,
     bytes      INTEGER NOT NULL
   );
   CREATE INDEX outbox_class_seq ON outbox (class, seq);
   CREATE TABLE outbox_drops (
     class       INTEGER PRIMARY KEY,
     total       INTEGER NOT NULL DEFAULT 0,
     unreported  INTEGER NOT NULL DEFAULT 0,
     first_at    INTEGER,
     last_at     INTEGER
   );`,
  // Device events in the journal (type 'event'): the event's name; its fields go in payload.
  `ALTER TABLE journal ADD COLUMN event TEXT;`,
  // The embedded broker's state (src/store/sqlite-broker-state.ts): persistent sessions, their
  // subscriptions and stored messages, QoS 2 packets awaiting PUBREL, retained messages, wills.
  // Packets are v8-serialized (src/store/packet-blob.ts). broker_outgoing.seq is the order in which
  // a session receives its messages (the broker assigns it); message_id, once the message was sent.
  `CREATE TABLE broker_sessions (
     client_id  TEXT PRIMARY KEY,
     username   TEXT,
     last_seen  INTEGER NOT NULL,
     connected  INTEGER NOT NULL
   );
   CREATE TABLE broker_subscriptions (
     client_id  TEXT NOT NULL,
     topic      TEXT NOT NULL,
     qos        INTEGER NOT NULL,
     options    TEXT,
     UNIQUE (client_id, topic)
   );
   CREATE TABLE broker_outgoing (
     seq        INTEGER PRIMARY KEY,
     client_id  TEXT NOT NULL,
     message_id INTEGER,
     packet     BLOB NOT NULL
   );
   CREATE INDEX broker_outgoing_client ON broker_outgoing (client_id, seq);
   CREATE TABLE broker_incoming (
     client_id  TEXT NOT NULL,
     message_id INTEGER NOT NULL,
     packet     BLOB NOT NULL,
     PRIMARY KEY (client_id, message_id)
   );
   CREATE TABLE broker_retained (
     topic      TEXT PRIMARY KEY,
     packet     BLOB NOT NULL
   );
   CREATE TABLE broker_wills (
     client_id  TEXT PRIMARY KEY,
     username   TEXT,
     packet     BLOB NOT NULL
   );`,
];

export const SCHEMA_VERSION = MIGRATIONS.length;

export function migrate(db: SqliteDatabase): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > SCHEMA_VERSION) {
    throw new Error(`database schema version ${current} is newer than this gatehouse (${SCHEMA_VERSION}); upgrade gatehouse`);
  }
  for (let version = current; version < SCHEMA_VERSION; version++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[version]);
      db.pragma(`user_version = ${version + 1}`);
    })();
  }
}
