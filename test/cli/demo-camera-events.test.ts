// The demo shows a camera's own events: the curl line its banner prints raises motion at the
// simulated lobby camera; a `motion` event comes on its event topic, the link takes a snapshot
// (source link), and motion_end follows when the simulated motion is over.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { startDemo, type DemoProcess } from '../support/demo.js';
import { mosquittoSub, type SubMessage } from '../support/mosquitto.js';
import { requireTool } from '../support/require-tool.js';

const WAIT_MS = 30_000;
const TEST = { timeout: 120_000 };
const json = (m: SubMessage) => JSON.parse(m.text) as Record<string, any>;

describe('gatehouse demo: camera events', () => {
  let demo: DemoProcess;

  before(async () => {
    demo = await startDemo();
    assert.equal(demo.running, true, `demo exited early:\n${demo.stderr}`);
  });
  after(() => demo?.stop());

  it('the banner\'s curl line raises motion: a motion event, a linked snapshot, then motion_end', TEST, async () => {
    const curl = requireTool('curl', 'curl');
    const line = /^\s*curl -X POST (http:\/\/127\.0\.0\.1:\d+\/simulator\/motion)$/m.exec(demo.stderr)?.[1];
    assert.ok(line, `the banner has the curl line:\n${demo.stderr}`);
    const topics = ['site/demo/camera/lobby-cam/event', 'site/demo/camera/lobby-cam/result', 'site/demo/camera/lobby-cam/state'];
    const sub = await mosquittoSub({ port: demo.port, topics });
    try {
      await sub.waitFor((m) => m.topic.endsWith('/state') && json(m).events === 'subscribed' && json(m).motion === false, WAIT_MS);
      const run = spawnSync(curl, ['-sS', '-X', 'POST', line], { encoding: 'utf8', timeout: WAIT_MS });
      assert.equal(run.status, 0, run.stderr);
      assert.match(run.stdout, /^motion on for 3000 ms/);
      const motion = json(await sub.waitFor((m) => m.topic.endsWith('/event') && json(m).event === 'motion', WAIT_MS));
      assert.equal(motion.source, 'VideoSource_1');
      const snapshot = json(await sub.waitFor((m) => m.topic.endsWith('/result') && json(m).trigger?.link === 'lobby-motion-snapshot', WAIT_MS));
      assert.equal(snapshot.status, 'ok', JSON.stringify(snapshot));
      assert.equal(snapshot.command, 'snapshot');
      await sub.waitFor((m) => m.topic.endsWith('/event') && json(m).event === 'motion_end', WAIT_MS);
    } finally {
      await sub.stop();
    }
  });
});
