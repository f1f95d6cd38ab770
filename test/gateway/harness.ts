// The end-to-end harness now lives in test/support/ (site.ts, gateway.ts, wait.ts). This re-export
// keeps the files of other branches (test/uplink, test/broker) working until they import from
// there; new code imports test/support directly.
export * from '../support/site.js';
export * from '../support/gateway.js';
export { WAIT_MS, sleep, until, within } from '../support/wait.js';
