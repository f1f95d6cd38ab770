// The security bug of issue 11: `broker.anonymous.enabled: no` (or off, 0, an empty variable) used
// to turn anonymous access ON. Every false-looking spelling now stops the gateway before it opens a
// port, naming the key and the value; `false` keeps anonymous clients out.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { runCli } from '../support/cli-process.js';
import { startDemo } from '../support/demo.js';
import { mosquittoSub } from '../support/mosquitto.js';
import { tempDir } from '../support/temp.js';

const FALSE_LOOKING = ['no', 'off', '0', '', 'n'];
const TEST = { timeout: 120_000 };

test('the demo refuses to start with each false-looking GATEHOUSE_BROKER_ANONYMOUS_ENABLED', TEST, async () => {
  await Promise.all(
    FALSE_LOOKING.map(async (spelling) => {
      const demo = await startDemo({ GATEHOUSE_BROKER_ANONYMOUS_ENABLED: spelling });
      try {
        const end = await demo.exit();
        assert.equal(end.code, 1, `${JSON.stringify(spelling)}: exit code; stderr:\n${demo.stderr}`);
        assert.equal(demo.port, 0, 'no broker was started');
        assert.ok(
          demo.stderr.includes(`broker.anonymous.enabled: must be true or false, got ${JSON.stringify(spelling)} (from the environment variable GATEHOUSE_BROKER_ANONYMOUS_ENABLED)`),
          demo.stderr,
        );
      } finally {
        await demo.cleanUp();
      }
    }),
  );
});

test('gatehouse run refuses `enabled: no` (and off, 0, "") in the config file before opening anything', TEST, async (t) => {
  const dir = tempDir(t, 'anon');
  const demoYaml = readFileSync('config/demo.yaml', 'utf8');
  assert.match(demoYaml, /^ {4}enabled: true /m, 'the demo config turns anonymous access on');
  await Promise.all(
    ['no', 'off', '0', '""'].map(async (spelling, i) => {
      const file = join(dir, `site-${i}.yaml`);
      writeFileSync(file, demoYaml.replace(/^ {4}enabled: true /m, `    enabled: ${spelling} `));
      const run = await runCli(['run', '--config', file, '--data-dir', join(dir, `data-${i}`)]);
      assert.equal(run.code, 1, `${spelling}: ${run.stderr}`);
      const shown = spelling === '0' ? '0' : spelling === '""' ? '""' : JSON.stringify(spelling);
      assert.ok(run.stderr.includes(`broker.anonymous.enabled: must be true or false, got ${shown}`), run.stderr);
      assert.doesNotMatch(run.stdout, /broker listening/, 'no listener was opened');
    }),
  );
});

test('with `false` an anonymous client is refused and a logged-in one is served; with `true` anonymous may watch', TEST, async (t) => {
  const closed = await startDemo({ GATEHOUSE_BROKER_ANONYMOUS_ENABLED: 'false' });
  t.after(() => closed.cleanUp());
  assert.ok(closed.port > 0, closed.stderr);
  const anonymous = await mosquittoSub({ port: closed.port, topics: ['site/demo/#'] });
  t.after(() => anonymous.stop());
  assert.notEqual(anonymous.exitCode, null, 'mosquitto_sub without a username exited');
  assert.notEqual(anonymous.exitCode, 0);
  assert.match(anonymous.stderr, /not authori[sz]ed/i);
  const guard = await mosquittoSub({ port: closed.port, username: 'guard', password: 'guard-demo', topics: ['site/demo/gate/+/state'] });
  t.after(() => guard.stop());
  assert.deepEqual(guard.granted, [2]);

  const open = await startDemo({ GATEHOUSE_BROKER_ANONYMOUS_ENABLED: 'true' });
  t.after(() => open.cleanUp());
  const watcher = await mosquittoSub({ port: open.port, topics: ['site/demo/gate/+/state'] });
  t.after(() => watcher.stop());
  assert.deepEqual(watcher.granted, [2], 'the control: the same client is let in when anonymous access is on');
});
