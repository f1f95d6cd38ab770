// Moved to test/support/gateway-process.ts; kept so that the uplink tests import it unchanged.
export { runGatewayToExit, spawnGateway, writeConfig, type GatewayProcess, type RunOptions as SpawnOptions } from '../support/gateway-process.js';
