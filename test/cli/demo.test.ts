// `gatehouse demo`: the whole product on simulated hardware, as a child process. It prints a
// connect banner, answers a real mosquitto_pub command, and stops cleanly on SIGTERM.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { mosquittoPub, mosquittoSub } from '../support/mosquitto.js';
import { spawnCli } from './cli-process.js';

const WAIT_MS = 30_000;

function waitFor(what: string, probe: () => boolean, timeoutMs = WAIT_MS): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const tick = () => {
      if (probe()) return resolve();
      if (Date.now() > deadline) return reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
      setTimeout(tick, 20);
    };
    tick();
  });
}

test('demo --port 0 prints the banner, runs an unlock from mosquitto_pub, and exits 0 on SIGTERM', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'gatehouse-demo-'));
  t.after(() => rmSync(dataDir, { recursive: true, force: true }));
  const child = spawnCli(['demo', '--port', '0', '--data-dir', dataDir]);
  child.stdin.end();
  let stderr = '';
  let stdout = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('close', (code, signal) => resolve({ code, signal })),
  );
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });

  await waitFor('the connect banner on stderr', () => /MQTT on 127\.0\.0\.1:\d+/.test(stderr) || child.exitCode !== null).catch((err) => {
    throw new Error(`${(err as Error).message}\nstderr:\n${stderr}\nstdout:\n${stdout.slice(-2000)}`);
  });
  assert.equal(child.exitCode, null, `demo exited early:\n${stderr}`);
  const port = Number(/MQTT on 127\.0\.0\.1:(\d+)/.exec(stderr)?.[1]);
  assert.ok(port > 0, 'the banner names the bound port, not 0');
  assert.match(stderr, /mosquitto_sub -p \d+/);
  assert.match(stderr, /mosquitto_pub -p \d+ -u guard -P guard-demo/);

  // Anonymous watchers may read the demo site; the guard commands it.
  const sub = await mosquittoSub({ port, topics: ['site/demo/gate/main-gate/result'] });
  t.after(() => sub.stop());
  assert.deepEqual(sub.granted, [2]);
  const id = `demo-${process.pid}`;
  const pub = await mosquittoPub({
    port,
    username: 'guard',
    password: 'guard-demo',
    topic: 'site/demo/gate/main-gate/unlock',
    message: JSON.stringify({ id, duration_ms: 1000 }),
    qos: 1,
  });
  assert.equal(pub.code, 0, pub.stderr);
  const result = JSON.parse((await sub.waitFor((m) => JSON.parse(m.text).id === id, WAIT_MS)).text);
  assert.equal(result.status, 'ok', result.message);
  assert.equal(result.command, 'unlock');
  await sub.stop();

  child.kill('SIGTERM');
  const end = await Promise.race([
    exited,
    new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`demo did not exit within ${WAIT_MS} ms of SIGTERM`)), WAIT_MS).unref()),
  ]);
  assert.deepEqual(end, { code: 0, signal: null }, `demo should stop cleanly; stderr:\n${stderr}`);
  assert.match(stdout, /gatehouse stopped/);
});
