// `node --import tsx --import ./test/support/import-recorder.mjs ...`: every module URL the process
// resolves from then on is appended, one per line, to the file named by $IMPORT_RECORDER_LOG.
// Tests use it to prove what a command does not load.
import { register } from 'node:module';

const file = process.env.IMPORT_RECORDER_LOG;
if (!file) throw new Error('import-recorder: set IMPORT_RECORDER_LOG to the file to append to');
register('./import-recorder-hooks.mjs', import.meta.url, { data: { file } });
