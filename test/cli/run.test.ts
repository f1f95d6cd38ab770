// `gatehouse run` refuses to start without a usable config, with distinct exit codes.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runCli } from '../support/cli-process.js';

test('run without --config exits 2 and says what is missing', async () => {
  const run = await runCli(['run']);
  assert.equal(run.code, 2);
  assert.match(run.stderr, /--config FILE is required/);
});

test('an unknown command or option exits 2 with usage', async () => {
  const unknownCommand = await runCli(['launch']);
  assert.equal(unknownCommand.code, 2);
  assert.match(unknownCommand.stderr, /unknown command "launch"/);
  const unknownOption = await runCli(['run', '--confg', 'x.yaml']);
  assert.equal(unknownOption.code, 2);
  assert.match(unknownOption.stderr, /confg/);
});

test('run with an invalid config exits 1 before starting anything', async () => {
  const run = await runCli(['run', '--config', 'config/demo.yaml'], { env: { GATEHOUSE_SITE: 'Not A Site' } });
  assert.equal(run.code, 1);
  assert.match(run.stderr, /^\s+site: /m);
});
