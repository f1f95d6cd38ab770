// The demo behaves like a terminal program: closing the terminal (SIGHUP) or Ctrl-C (SIGINT) ends
// it and frees its port; its banner's watch command leaves the camera's JPEG bytes out.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { test } from 'node:test';
import { startDemo } from '../support/demo.js';
import { mosquittoPub } from '../support/mosquitto.js';
import { canConnect as listening } from '../support/ports.js';
import { requireTool } from '../support/require-tool.js';
import { until, within } from '../support/wait.js';

const STOP_WAIT_MS = 30_000;
const WATCH_WAIT_MS = 30_000;
const TEST = { timeout: 120_000 };

for (const signal of ['SIGHUP', 'SIGINT'] as const) {
  test(`the demo exits 0 on ${signal} and frees its MQTT port`, TEST, async (t) => {
    const demo = await startDemo();
    t.after(() => demo.cleanUp());
    assert.ok(demo.port > 0, `the demo started:\n${demo.stderr}`);
    assert.equal(await listening(demo.port), true, 'the broker listens before the signal');
    demo.signal(signal);
    const end = await within(demo.exited, () => `the demo to exit after ${signal}; stderr:\n${demo.stderr}`, STOP_WAIT_MS);
    assert.deepEqual(end, { code: 0, signal: null }, demo.stderr);
    assert.match(demo.stdout, /"signal":"(SIGHUP|SIGINT)".*"msg":"stopping"/);
    assert.match(demo.stdout, /gatehouse stopped/);
    assert.equal(await listening(demo.port), false, 'nothing holds the port afterwards');
  });
}

test("the banner's watch command shows state and results but no image bytes", TEST, async (t) => {
  const demo = await startDemo();
  t.after(() => demo.cleanUp());
  const line = /^\s*(mosquitto_sub -p \d+ -t 'site\/demo\/#' -T 'site\/demo\/camera\/\+\/image' -v)$/m.exec(demo.stderr)?.[1];
  assert.ok(line, `the banner suggests a watch command that filters the image topic out:\n${demo.stderr}`);
  requireTool('mosquitto_sub', 'mosquitto-clients');
  // Run exactly the printed line, with -C to end after a bounded number of messages.
  const watcher = spawn('sh', ['-c', `exec ${line} -W 30`], { stdio: ['ignore', 'pipe', 'pipe'] });
  t.after(() => watcher.kill('SIGKILL'));
  let output = Buffer.alloc(0);
  watcher.stdout.on('data', (chunk: Buffer) => (output = Buffer.concat([output, chunk])));
  const id = `terminal-snap-${process.pid}`;
  // The subscription is in place once the retained states have arrived.
  await until('the retained main-gate state', () => output.includes('site/demo/gate/main-gate/state'), WATCH_WAIT_MS);
  const pub = await mosquittoPub({ port: demo.port, username: 'guard', password: 'guard-demo', qos: 1, topic: 'site/demo/camera/lobby-cam/snapshot', message: JSON.stringify({ id }) });
  assert.equal(pub.code, 0, pub.stderr);
  // The image is published before the snapshot event that announces it.
  await until('the snapshot result and event', () => output.includes(id) && /lobby-cam\/event .*"snapshot"/.test(output.toString('latin1')), WATCH_WAIT_MS);
  watcher.kill('SIGTERM');
  const text = output.toString('latin1');
  assert.match(text, /site\/demo\/camera\/lobby-cam\/event .*"snapshot"/, 'the snapshot event is shown');
  assert.doesNotMatch(text, /site\/demo\/camera\/lobby-cam\/image/, 'the image topic is left out');
  assert.equal(output.includes(Buffer.from([0xff, 0xd8, 0xff])), false, 'no JPEG bytes reach the terminal');
});
