// `gatehouse demo`: the whole product on simulated hardware (a Modbus site simulator and an ONVIF
// camera, both in-process), as a child process. It prints a connect banner, answers real
// mosquitto_pub commands for the gates and the camera, runs the demo's link (main gate unlocked:
// camera to preset 1, snapshot), and stops cleanly on SIGTERM. The metrics port comes from
// GATEHOUSE_METRICS_PORT=0, as the broker's from --port 0, so demos of parallel runs never collide.
import assert from 'node:assert/strict';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startDemo, type DemoProcess } from '../support/demo.js';
import { mosquittoPub, mosquittoSub, type SubMessage, type Subscriber } from '../support/mosquitto.js';
import { requireTool } from '../support/require-tool.js';
import { makeTempDir, removeTempDir } from '../support/temp.js';
import { until, within } from '../support/wait.js';

const WAIT_MS = 30_000;
const TEST = { timeout: 120_000 };
const CAMERA_TOPIC = (leaf: string) => `site/demo/camera/lobby-cam/${leaf}`;

/** JPEG (ITU-T T.81 Annex B): starts with SOI (FF D8), ends with EOI (FF D9). */
function assertJpeg(bytes: Buffer, what: string): void {
  assert.ok(bytes.length > 4, `${what}: ${bytes.length} bytes`);
  assert.deepEqual([...bytes.subarray(0, 2)], [0xff, 0xd8], `${what} starts with SOI`);
  assert.deepEqual([...bytes.subarray(-2)], [0xff, 0xd9], `${what} ends with EOI`);
}

const json = (m: SubMessage) => JSON.parse(m.text) as Record<string, any>;

/** Runs one line the banner printed, as a user would paste it into a shell, in `cwd`. */
function shell(line: string, cwd: string, toolDir: string): ChildProcessWithoutNullStreams {
  // exec: the shell becomes the command, so killing it kills the command.
  return spawn('sh', ['-c', `exec ${line}`], { cwd, env: { ...process.env, PATH: `${toolDir}${delimiter}${process.env.PATH ?? ''}` }, stdio: ['pipe', 'pipe', 'pipe'] });
}

function exitOf(child: ChildProcessWithoutNullStreams, timeoutMs: number, what: string): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve, reject) => {
    const onClose = (code: number | null) => {
      clearTimeout(timer);
      resolve(code);
    };
    const timer = setTimeout(() => {
      child.off('close', onClose);
      reject(new Error(`${what} did not exit within ${timeoutMs} ms`));
    }, timeoutMs);
    child.once('close', onClose);
  });
}

describe('gatehouse demo --port 0 (GATEHOUSE_METRICS_PORT=0)', () => {
  let demo: DemoProcess;
  const subscribers: Subscriber[] = [];
  const watch = async (topics: string[]) => {
    const sub = await mosquittoSub({ port: demo.port, topics });
    subscribers.push(sub);
    assert.deepEqual(sub.granted, topics.map(() => 2), `anonymous may watch ${topics.join(', ')}`);
    return sub;
  };
  const guardPublish = async (topic: string, message: string) => {
    const pub = await mosquittoPub({ port: demo.port, username: 'guard', password: 'guard-demo', topic, message, qos: 1 });
    assert.equal(pub.code, 0, pub.stderr);
  };

  before(async () => {
    demo = await startDemo();
    assert.equal(demo.running, true, `demo exited early:\n${demo.stderr}`);
  });

  after(async () => {
    for (const sub of subscribers) await sub.stop();
    await demo?.cleanUp();
  });

  it('prints the banner: the bound MQTT port, the simulated camera, metrics, how to fetch a snapshot', TEST, async () => {
    const { port, stderr } = demo;
    assert.ok(port > 0, 'the broker listens on a port the OS picked');
    assert.match(stderr, new RegExp(`MQTT on 127\\.0\\.0\\.1:${port}\\b`), 'the banner names the bound port, not 0');
    assert.match(stderr, /mosquitto_sub -p \d+ -t 'site\/demo\/#'/);
    assert.match(stderr, /mosquitto_pub -p \d+ -u guard -P guard-demo/);
    const camera = /simulated ONVIF camera lobby-cam: http:\/\/127\.0\.0\.1:(\d+)\/onvif\/device_service/.exec(stderr);
    assert.ok(camera && Number(camera[1]) > 0, `the banner names the camera's address:\n${stderr}`);
    assert.match(stderr, new RegExp(`mosquitto_sub -p ${port} -C 1 -N -t site/demo/camera/lobby-cam/image > snapshot\\.jpg`));
    const metrics = /Prometheus metrics: curl (http:\/\/127\.0\.0\.1:(\d+))\/metrics/.exec(stderr);
    assert.ok(metrics && Number(metrics[2]) > 0, `the banner names the metrics port GATEHOUSE_METRICS_PORT=0 picked:\n${stderr}`);
    const scrape = await fetch(`${metrics[1]}/metrics`, { signal: AbortSignal.timeout(WAIT_MS) });
    assert.equal(scrape.status, 200);
    await scrape.arrayBuffer();
  });

  it('runs an unlock from mosquitto_pub', TEST, async () => {
    const results = await watch(['site/demo/gate/main-gate/result']);
    const id = `demo-unlock-${process.pid}`;
    await guardPublish('site/demo/gate/main-gate/unlock', JSON.stringify({ id, duration_ms: 1000 }));
    const result = json(await results.waitFor((m) => json(m).id === id, WAIT_MS));
    assert.equal(result.status, 'ok', result.message);
    assert.equal(result.command, 'unlock');
  });

  it('the lobby camera takes a snapshot on command: ok result, JPEG on the image topic, a snapshot event and file', TEST, async () => {
    const sub = await watch([CAMERA_TOPIC('availability'), CAMERA_TOPIC('result'), CAMERA_TOPIC('image'), CAMERA_TOPIC('event')]);
    await sub.waitFor((m) => m.topic === CAMERA_TOPIC('availability') && m.text === 'online', WAIT_MS);
    const id = `demo-snap-${process.pid}`;
    await guardPublish(CAMERA_TOPIC('snapshot'), JSON.stringify({ id }));
    const result = json(await sub.waitFor((m) => m.topic === CAMERA_TOPIC('result') && json(m).id === id, WAIT_MS));
    assert.equal(result.status, 'ok', JSON.stringify(result));
    assert.equal(result.command, 'snapshot');
    const image = await sub.waitFor((m) => m.topic === CAMERA_TOPIC('image'), WAIT_MS);
    assert.equal(image.retain, false);
    assertJpeg(image.payload, 'the image message');
    const event = json(await sub.waitFor((m) => m.topic === CAMERA_TOPIC('event') && json(m).event === 'snapshot', WAIT_MS));
    assert.equal(event.bytes, image.payload.length);
    assert.ok(readFileSync(join(demo.dataDir, event.file as string)).equals(image.payload), 'the snapshot file under --data-dir holds the same bytes');
  });

  it('the snapshot commands the banner prints work as printed: snapshot.jpg is a JPEG', TEST, async () => {
    const toolDir = dirname(requireTool('mosquitto_sub', 'mosquitto-clients'));
    requireTool('mosquitto_pub', 'mosquitto-clients');
    const subLine = /^\s*(mosquitto_sub -p \d+ -C 1 -N -t \S+\/image > snapshot\.jpg)$/m.exec(demo.stderr)?.[1];
    const pubLine = /^\s*(mosquitto_pub -p \d+ -u guard -P guard-demo -q 1 -t \S+\/snapshot -n)$/m.exec(demo.stderr)?.[1];
    assert.ok(subLine && pubLine, `the banner has both snapshot lines:\n${demo.stderr}`);
    const results = await watch([CAMERA_TOPIC('result')]);
    const cwd = makeTempDir('demo-snap');
    const sub = shell(subLine, cwd, toolDir);
    try {
      // mosquitto_sub prints nothing once subscribed, so the command is repeated until a picture
      // arrives (a command sent before its SUBSCRIBE reached the broker makes a picture nobody gets).
      let sent = 0;
      const deadline = Date.now() + WAIT_MS;
      while (sub.exitCode === null && Date.now() < deadline) {
        assert.equal(await exitOf(shell(pubLine, cwd, toolDir), WAIT_MS, pubLine), 0, pubLine);
        sent++;
        await exitOf(sub, 2000, subLine).catch(() => undefined);
      }
      assert.equal(await exitOf(sub, 1000, subLine), 0, `${subLine} exits 0 after one message`);
      assertJpeg(readFileSync(join(cwd, 'snapshot.jpg')), 'snapshot.jpg');
      // Every command sent has its result before the next test watches the camera.
      await until(`${sent} snapshot results`, () => results.messages.filter((m) => json(m).command === 'snapshot').length >= sent, WAIT_MS);
      assert.ok(results.messages.every((m) => json(m).status === 'ok'), results.messages.map((m) => m.text).join('\n'));
    } finally {
      if (sub.exitCode === null) sub.kill('SIGKILL');
      removeTempDir(cwd);
    }
  });

  it('the link fires on a gate unlock: the camera goes to preset 1, then takes a snapshot', TEST, async () => {
    const gateState = 'site/demo/gate/main-gate/state';
    const sub = await watch([gateState, 'site/demo/gate/main-gate/result', CAMERA_TOPIC('result'), CAMERA_TOPIC('image')]);
    // An unlock of a gate still unlocked (by the earlier test) only extends it: no new `unlocked` event.
    await until('the main gate locked again (its retained state)', () => {
      const states = sub.messages.filter((m) => m.topic === gateState);
      return states.length > 0 && json(states[states.length - 1]).lock === 'locked';
    }, WAIT_MS);
    const sentAt = Date.now();
    const id = `demo-link-${process.pid}`;
    await guardPublish('site/demo/gate/main-gate/unlock', JSON.stringify({ id, duration_ms: 1000 }));
    const unlock = json(await sub.waitFor((m) => m.topic === 'site/demo/gate/main-gate/result' && json(m).id === id, WAIT_MS));
    assert.equal(unlock.status, 'ok', JSON.stringify(unlock));
    const linked = (command: string) => (m: SubMessage) => {
      if (m.topic !== CAMERA_TOPIC('result')) return false;
      const r = json(m);
      return r.command === command && r.source === 'link' && r.trigger?.link === 'main-gate-snapshot' && r.trigger.at >= sentAt;
    };
    const preset = json(await sub.waitFor(linked('preset'), WAIT_MS));
    const snapshot = json(await sub.waitFor(linked('snapshot'), WAIT_MS));
    assert.equal(preset.status, 'ok', JSON.stringify(preset));
    assert.equal(snapshot.status, 'ok', JSON.stringify(snapshot));
    assert.deepEqual({ ...snapshot.trigger, at: undefined }, { link: 'main-gate-snapshot', step: 1, kind: 'gate', device: 'main-gate', event: 'unlocked', at: undefined });
    assert.ok(snapshot.timing.started_at >= preset.timing.finished_at, 'the snapshot waited for the preset');
    assertJpeg((await sub.waitFor((m) => m.topic === CAMERA_TOPIC('image'), WAIT_MS)).payload, 'the linked snapshot');
  });

  it('exits 0 on SIGTERM', TEST, async () => {
    for (const sub of subscribers.splice(0)) await sub.stop();
    demo.signal('SIGTERM');
    const end = await within(demo.exited, 'the demo to exit after SIGTERM', WAIT_MS);
    assert.deepEqual(end, { code: 0, signal: null }, `demo should stop cleanly; stderr:\n${demo.stderr}`);
    assert.match(demo.stdout, /gatehouse stopped/);
    assert.ok(existsSync(join(demo.dataDir, 'gatehouse.db')), 'the journal is under --data-dir');
  });
});
