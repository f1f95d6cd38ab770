// The dispatcher's table (src/cli/index.ts): each command's code is loaded only when it runs, the
// defaults its help shows are the code's own, and the options a module still declares are the table's.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { commands } from '../../src/cli/index.js';
import { DEFAULT_STOP_TIMEOUT_MS } from '../../src/cli/service.js';
import { DEFAULT_TIMEOUT_MS } from '../../src/cli/status.js';
import { loadConfig } from '../../src/config.js';
import { VERSION } from '../../src/version.js';
import { runCli } from '../support/cli-process.js';
import { tempDir } from '../support/temp.js';

/** Runs `gatehouse ...args` with the import recorder; resolves with the run and every module URL it resolved. */
async function recordImports(t: TestContext, args: string[], input?: string) {
  const dir = tempDir(t, 'imports');
  const log = join(dir, 'imports.txt');
  const run = await runCli(args, { input, env: { IMPORT_RECORDER_LOG: log }, nodeArgs: ['--import', './test/support/import-recorder.mjs'] });
  const urls = readFileSync(log, 'utf8').split('\n').filter(Boolean);
  return { run, urls };
}

function packagesIn(urls: string[]): string[] {
  return [...new Set(urls.flatMap((u) => /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(u)?.[1] ?? []))].sort();
}

test('version, --version and -V print the version without loading any package or other command', async (t) => {
  for (const args of [['version'], ['--version'], ['-V']]) {
    const { run, urls } = await recordImports(t, args);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout, `gatehouse ${VERSION}\n`);
    assert.ok(urls.some((u) => u.endsWith('/src/cli/version.ts')), `the recorder saw the version command load:\n${urls.join('\n')}`);
    assert.deepEqual(packagesIn(urls), [], `${args.join(' ')} loads no package`);
    const otherCommands = urls.filter((u) => /\/src\/cli\/(run|demo|check|journal|outbox|status|ports|simulate|passwd|service)\.ts$/.test(u));
    assert.deepEqual(otherCommands, [], `${args.join(' ')} loads no other command`);
  }
});

test('passwd and every --help load no package: help comes from the table alone', async (t) => {
  const passwd = await recordImports(t, ['passwd'], 'a long enough password\n');
  assert.equal(passwd.run.code, 0, passwd.run.stderr);
  assert.ok(passwd.urls.some((u) => u.endsWith('/src/cli/passwd.ts')));
  assert.deepEqual(packagesIn(passwd.urls), []);
  for (const args of [['--help'], ['help', 'status'], ['status', '--help'], ['run', '--help'], ['demo', '-h']]) {
    const { run, urls } = await recordImports(t, args);
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(packagesIn(urls), [], `${args.join(' ')} loads no package`);
    assert.deepEqual(urls.filter((u) => /\/src\/(cli\/(run|demo|status|service)|gateway|config)\.ts$/.test(u)), [], `${args.join(' ')} loads no command code`);
  }
});

test('the recorder sees packages: check loads the config code and its parsers', async (t) => {
  const { run, urls } = await recordImports(t, ['check', '--config', 'config/demo.yaml']);
  assert.equal(run.code, 0, run.stderr);
  const loaded = packagesIn(urls);
  for (const name of ['convict', 'yaml']) assert.ok(loaded.includes(name), `check loads ${name}: ${loaded.join(', ')}`);
});

test('each command loads a module with a run function, and declares no options of its own (the table is the one place)', async () => {
  for (const [name, spec] of Object.entries(commands)) {
    const command = await spec.load();
    assert.equal(typeof command.run, 'function', name);
    assert.equal(Object.hasOwn(command, 'options'), false, `${name}: options belong in the table in src/cli/index.ts`);
  }
});

test('every option has a description; string options a value placeholder; short names are unique per command', () => {
  for (const [name, spec] of Object.entries(commands)) {
    assert.ok(spec.summary.length > 0, name);
    const shorts = Object.values(spec.options).flatMap((o) => o.short ?? []);
    assert.equal(new Set(shorts).size, shorts.length, `${name}: short names`);
    assert.ok(!shorts.includes('h'), `${name}: -h is --help`);
    for (const [option, o] of Object.entries(spec.options)) {
      assert.ok(o.description.length > 0, `${name} --${option}`);
      if (o.type === 'string') assert.ok(o.value, `${name} --${option} names its value`);
    }
  }
});

test('the defaults shown in help are the code\'s defaults', () => {
  const defaults = loadConfig({ document: { site: 'x' }, env: {} });
  assert.ok(defaults.ok);
  const { data_dir, metrics } = defaults.config;
  assert.equal(commands.run.options['stop-timeout-ms'].default, String(DEFAULT_STOP_TIMEOUT_MS));
  assert.match(commands.run.options['data-dir'].default!, new RegExp(`\\$GATEHOUSE_DATA_DIR, else data_dir of the config, else ${data_dir.replace(/\./g, '\\.')}$`));
  assert.equal(commands.outbox.options['data-dir'].default, `$GATEHOUSE_DATA_DIR, else ${data_dir}`);
  assert.ok(commands.journal.options['data-dir'].default!.startsWith(`$GATEHOUSE_DATA_DIR, else ${data_dir}, else `), commands.journal.options['data-dir'].default);
  assert.equal(commands.status.options.timeout.default, String(DEFAULT_TIMEOUT_MS));
  assert.ok(commands.status.options.url.default!.includes(`http://${metrics.host}:${metrics.port}`), commands.status.options.url.default);

  const demo = loadConfig({ file: 'config/demo.yaml', env: {} });
  assert.ok(demo.ok);
  assert.equal(commands.demo.options['data-dir'].default, `$GATEHOUSE_DATA_DIR, else ${demo.config.data_dir}`);
  assert.ok(commands.demo.options.port.default!.startsWith(`${demo.config.broker.port} `));
});
