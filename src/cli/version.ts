import { VERSION } from '../version.js';
import type { CliCommand } from './index.js';

export const version: CliCommand = {
  async run() {
    process.stdout.write(`gatehouse ${VERSION}\n`);
    return 0;
  },
};
