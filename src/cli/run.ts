import { createLogger } from '../log.js';
import type { CliCommand } from './index.js';
import { loadOrReport } from './load.js';
import { runUntilSignalled } from './service.js';

export const run: CliCommand = {
  options: { config: { type: 'string', short: 'c' }, 'data-dir': { type: 'string' } },
  async run(values) {
    if (typeof values.config !== 'string') {
      process.stderr.write('gatehouse run: --config FILE is required\n');
      return 2;
    }
    const config = loadOrReport({ file: values.config, overrides: { data_dir: values['data-dir'] as string | undefined } }, values.config);
    if (!config) return 1;
    return runUntilSignalled(config, createLogger(config.log.level));
  },
};
