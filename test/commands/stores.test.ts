// Every storage implementation runs the same conformance suites.
import { MemoryJournal } from '../../src/commands/journal.js';
import { MemoryLedger } from '../../src/commands/ledger.js';
import { openMemoryDatabase } from '../../src/store/database.js';
import { SqliteJournal } from '../../src/store/sqlite-journal.js';
import { SqliteLedger } from '../../src/store/sqlite-ledger.js';
import { journalConformance } from './journal-conformance.js';
import { ledgerConformance } from './ledger-conformance.js';

ledgerConformance('MemoryLedger', () => new MemoryLedger());
ledgerConformance('SqliteLedger', () => new SqliteLedger(openMemoryDatabase()));
journalConformance('MemoryJournal', () => new MemoryJournal());
journalConformance('SqliteJournal', () => new SqliteJournal(openMemoryDatabase()));
