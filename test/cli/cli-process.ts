// Moved to test/support/cli-process.ts; kept so that test/broker and test/uplink files import it unchanged.
export * from '../support/cli-process.js';
