// `gatehouse demo`: the whole product on simulated hardware (a Modbus site simulator and an ONVIF
// camera, both in-process), as a child process. It prints a connect banner, answers real
// mosquitto_pub commands for the gates and the camera, runs the demo's link (main gate unlocked:
// camera to preset 1, snapshot), and stops cleanly on SIGTERM. The metrics port comes from
// GATEHOUSE_METRICS_PORT=0, as the broker's from --port 0, so demos of parallel runs never collide.
import assert from 'node:assert/strict';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { mosquittoPub, mosquittoSub, type SubMessage, type Subscriber } from '../support/mosquitto.js';
import { requireTool } from '../support/require-tool.js';
import { spawnCli } from './cli-process.js';

const WAIT_MS = 30_000;
const TEST = { timeout: 120_000 };
const CAMERA_TOPIC = (leaf: string) => `site/demo/camera/lobby-cam/${leaf}`;

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
  const dataDir = mkdtempSync(join(tmpdir(), 'gatehouse-demo-'));
  let child: ChildProcessWithoutNullStreams;
  let stderr = '';
  let stdout = '';
  let port = 0;
  let exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  const subscribers: Subscriber[] = [];
  const watch = async (topics: string[]) => {
    const sub = await mosquittoSub({ port, topics });
    subscribers.push(sub);
    assert.deepEqual(sub.granted, topics.map(() => 2), `anonymous may watch ${topics.join(', ')}`);
    return sub;
  };
  const guardPublish = async (topic: string, message: string) => {
    const pub = await mosquittoPub({ port, username: 'guard', password: 'guard-demo', topic, message, qos: 1 });
    assert.equal(pub.code, 0, pub.stderr);
  };

  before(async () => {
    child = spawnCli(['demo', '--port', '0', '--data-dir', dataDir], { env: { GATEHOUSE_METRICS_PORT: '0' } });
    child.stdin.end();
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    exited = new Promise((resolve) => child.once('close', (code, signal) => resolve({ code, signal })));
    await waitFor('the connect banner on stderr', () => /mosquitto_pub -p \d+ -u guard -P guard-demo -q 1 -t site\/demo\/camera/.test(stderr) || child.exitCode !== null).catch((err) => {
      throw new Error(`${(err as Error).message}\nstderr:\n${stderr}\nstdout:\n${stdout.slice(-2000)}`);
    });
    assert.equal(child.exitCode, null, `demo exited early:\n${stderr}`);
    port = Number(/MQTT on 127\.0\.0\.1:(\d+)/.exec(stderr)?.[1]);
  });

  after(async () => {
    for (const sub of subscribers) await sub.stop();
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('prints the banner: the bound MQTT port, the simulated camera, metrics, how to fetch a snapshot', TEST, async () => {
    assert.ok(port > 0, 'the banner names the bound port, not 0');
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
    assert.ok(readFileSync(join(dataDir, event.file as string)).equals(image.payload), 'the snapshot file under --data-dir holds the same bytes');
  });

  it('the snapshot commands the banner prints work as printed: snapshot.jpg is a JPEG', TEST, async () => {
    const toolDir = dirname(requireTool('mosquitto_sub', 'mosquitto-clients'));
    requireTool('mosquitto_pub', 'mosquitto-clients');
    const subLine = /^\s*(mosquitto_sub -p \d+ -C 1 -N -t \S+\/image > snapshot\.jpg)$/m.exec(stderr)?.[1];
    const pubLine = /^\s*(mosquitto_pub -p \d+ -u guard -P guard-demo -q 1 -t \S+\/snapshot -n)$/m.exec(stderr)?.[1];
    assert.ok(subLine && pubLine, `the banner has both snapshot lines:\n${stderr}`);
    const results = await watch([CAMERA_TOPIC('result')]);
    const cwd = mkdtempSync(join(tmpdir(), 'gatehouse-demo-snap-'));
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
      await waitFor(`${sent} snapshot results`, () => results.messages.filter((m) => json(m).command === 'snapshot').length >= sent);
      assert.ok(results.messages.every((m) => json(m).status === 'ok'), results.messages.map((m) => m.text).join('\n'));
    } finally {
      if (sub.exitCode === null) sub.kill('SIGKILL');
      rmSync(cwd, { recursive: true, force: true });
    }
  });

  it('the link fires on a gate unlock: the camera goes to preset 1, then takes a snapshot', TEST, async () => {
    const gateState = 'site/demo/gate/main-gate/state';
    const sub = await watch([gateState, 'site/demo/gate/main-gate/result', CAMERA_TOPIC('result'), CAMERA_TOPIC('image')]);
    // An unlock of a gate still unlocked (by the earlier test) only extends it: no new `unlocked` event.
    await waitFor('the main gate locked again (its retained state)', () => {
      const states = sub.messages.filter((m) => m.topic === gateState);
      return states.length > 0 && json(states[states.length - 1]).lock === 'locked';
    });
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
    child.kill('SIGTERM');
    const end = await Promise.race([
      exited,
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`demo did not exit within ${WAIT_MS} ms of SIGTERM`)), WAIT_MS).unref()),
    ]);
    assert.deepEqual(end, { code: 0, signal: null }, `demo should stop cleanly; stderr:\n${stderr}`);
    assert.match(stdout, /gatehouse stopped/);
    assert.ok(existsSync(join(dataDir, 'gatehouse.db')), 'the journal is under --data-dir');
  });
});
