// Moved to test/support/pki.ts (mutualTlsPki); kept so that the uplink and broker tests import it unchanged.
export { mutualTlsPki as makePki, type MutualTlsPki as TestPki } from '../support/pki.js';
