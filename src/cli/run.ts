import { resolve } from 'node:path';
import { loadConfig, type LoadOptions } from '../config.js';
import { createLogger } from '../log.js';
import type { CliCommand } from './index.js';
import { loadOrReport } from './load.js';
import { DEFAULT_STOP_TIMEOUT_MS, runUntilSignalled } from './service.js';

export const run: CliCommand = {
  // --config is required by the command table (src/cli/index.ts): the dispatcher refuses to run without it.
  async run(values) {
    const stopTimeout = values['stop-timeout-ms'];
    const stopTimeoutMs = stopTimeout === undefined ? DEFAULT_STOP_TIMEOUT_MS : Number(stopTimeout);
    if (!Number.isInteger(stopTimeoutMs) || stopTimeoutMs < 1) {
      process.stderr.write(`gatehouse run: --stop-timeout-ms must be a positive integer (milliseconds), got ${JSON.stringify(stopTimeout)}\n`);
      return 2;
    }
    const load: LoadOptions = { file: values.config as string, overrides: { data_dir: values['data-dir'] as string | undefined } };
    const config = loadOrReport(load, values.config as string);
    if (!config) return 1;
    // SIGHUP reads the same file with the same overrides and environment.
    return runUntilSignalled(config, createLogger(config.log.level), undefined, undefined, { reloadConfig: () => loadConfig(load), stopTimeoutMs, configFiles: [resolve(values.config as string)] });
  },
};
