// Every Outbox implementation runs the same conformance suite.
import { openMemoryDatabase } from '../../src/store/database.js';
import { SqliteOutbox } from '../../src/store/sqlite-outbox.js';
import { MemoryOutbox } from '../../src/uplink/outbox.js';
import { outboxConformance } from './outbox-conformance.js';

outboxConformance('MemoryOutbox', (limits) => new MemoryOutbox(limits));
outboxConformance('SqliteOutbox', (limits) => new SqliteOutbox(openMemoryDatabase(), { limits }));
outboxConformance('SqliteOutbox (NORMAL)', (limits) => new SqliteOutbox(openMemoryDatabase(), { limits, synchronous: 'NORMAL', ackSynchronous: 'NORMAL' }));
