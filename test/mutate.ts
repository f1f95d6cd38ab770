// The test command of `npm run mutate` (stryker.config.mjs): runs the given test files in this one
// process, without test/run.ts's child processes per file, since Stryker runs the tests once per
// mutant. node:test reports and sets the exit code (1 when a test fails, which kills the mutant).
// Usage: node --import tsx test/mutate.ts <test file> [...]
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const files = process.argv.slice(2);
if (files.length === 0) {
  console.error('test/mutate.ts: name the test files to run');
  process.exit(2);
}
for (const file of files) await import(pathToFileURL(resolve(file)).href);
