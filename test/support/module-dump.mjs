// `node --import ./test/support/module-dump.mjs ...`: when the process exits, writes the path of every
// CommonJS module it loaded (require.cache: those required, and those imported from ESM) to the
// file named by $MODULE_DUMP_FILE, one per line. Packages gatehouse requires lazily (node-onvif,
// ws, serialport, pino-pretty) are CommonJS, so tests use it to prove what a site does not load;
// import-recorder.mjs sees ES module imports only.
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const file = process.env.MODULE_DUMP_FILE;
if (!file) throw new Error('module-dump: set MODULE_DUMP_FILE to the file to write');
const cache = createRequire(import.meta.url).cache;
process.on('exit', () => writeFileSync(file, `${Object.keys(cache).join('\n')}\n`));
