// What an idle camera event subscription costs the gateway: 10 simulated ONVIF cameras (in a child
// process, so their own work is not counted), 10 ONVIF transports here. Two phases in the same
// run, each measured over the same span: the 10 transports with no event subscription (the
// baseline), then the same 10 with a pull-point subscription each, idle (long polls of 10 s that
// bring nothing, a Renew every 30 s). Printed: process.cpuUsage() over the span, RSS and heap
// after a GC, and the difference per camera.
// Usage: node --expose-gc --import tsx test/bench/camera-events-bench.ts [--cameras 10] [--span-s 30]
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import type { NoticeListener } from '../../src/driver-api.js';
import { TestOnvifCamera } from '../../src/simulator/onvif-camera/camera.js';
import { OnvifCamera } from '../../src/transport/onvif/camera.js';
import type { OnvifEventHandle } from '../../src/transport/onvif/access.js';

const { values } = parseArgs({ options: { cameras: { type: 'string', default: '10' }, 'span-s': { type: 'string', default: '30' }, serve: { type: 'boolean', default: false } } });
const CAMERAS = Number(values.cameras);
const SPAN_MS = Number(values['span-s']) * 1000;

async function serveCameras(): Promise<void> {
  const cameras = await Promise.all(
    Array.from({ length: CAMERAS }, async () => {
      const camera = new TestOnvifCamera({ user: 'admin', password: 'secret' });
      await camera.start();
      return camera;
    }),
  );
  process.stdout.write(`${JSON.stringify(cameras.map((c) => c.xaddr))}\n`);
  await new Promise<void>((resolve) => process.once('SIGTERM', resolve));
  await Promise.all(cameras.map((c) => c.stop()));
}

const silent = { debug() {}, info() {}, warn() {}, error() {} };

function gc(): void {
  const collect = (globalThis as { gc?: () => void }).gc;
  if (collect) {
    collect();
    collect();
  }
}

interface Figures {
  cpuMsPerS: number;
  rssMb: number;
  heapMb: number;
}

async function measure(): Promise<Figures> {
  gc();
  const start = process.cpuUsage();
  const t0 = performance.now();
  await new Promise((resolve) => setTimeout(resolve, SPAN_MS));
  const used = process.cpuUsage(start);
  const seconds = (performance.now() - t0) / 1000;
  gc();
  const mem = process.memoryUsage();
  return { cpuMsPerS: (used.user + used.system) / 1000 / seconds, rssMb: mem.rss / 2 ** 20, heapMb: mem.heapUsed / 2 ** 20 };
}

async function main(): Promise<void> {
  if (values.serve) return serveCameras();
  const child = spawn(process.execPath, ['--import', 'tsx', new URL(import.meta.url).pathname, '--serve', '--cameras', String(CAMERAS)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const [line] = await createInterface({ input: child.stdout })[Symbol.asyncIterator]().next().then((r) => [r.value as string]);
  const xaddrs = JSON.parse(line) as string[];
  const transports = xaddrs.map(
    (xaddr, i) =>
      new OnvifCamera(`cam-${i}`, { xaddr, user: 'admin', password: 'secret', timeoutMs: 5000, initTimeoutMs: 30_000, maxBodyBytes: 1 << 20, maxImageBytes: 8 << 20, backoff: { initialMs: 200, maxMs: 5000 } }, silent),
  );
  await Promise.all(transports.map((t) => t.start()));
  await waitFor(() => transports.every((t) => t.connected));
  const baseline = await measure();

  let subscribed = 0;
  const handles: OnvifEventHandle[] = transports.map((t) => {
    let counted = false;
    const listener: NoticeListener = {
      notice: () => {},
      status: (s) => {
        if (s === 'subscribed' && !counted) {
          counted = true;
          subscribed += 1;
        }
      },
    };
    return t.listenEvents({}, listener);
  });
  await waitFor(() => subscribed === CAMERAS);
  const withEvents = await measure();

  await Promise.all(handles.map((h) => h.stop()));
  await Promise.all(transports.map((t) => t.stop()));
  child.kill('SIGTERM');

  const per = (a: number, b: number) => (b - a) / CAMERAS;
  const f = (x: number, d = 2) => x.toFixed(d);
  process.stdout.write(
    [
      `camera events: ${CAMERAS} simulated cameras (child process), ${SPAN_MS / 1000} s per phase, node ${process.version}${(globalThis as { gc?: unknown }).gc ? '' : ' (no --expose-gc: memory figures are noisier)'}`,
      'phase                      cpu ms/s   rss MB   heap MB',
      `0 subscribed (baseline)    ${f(baseline.cpuMsPerS).padStart(8)}  ${f(baseline.rssMb, 1).padStart(7)}  ${f(baseline.heapMb).padStart(8)}`,
      `${CAMERAS} subscribed, idle        ${f(withEvents.cpuMsPerS).padStart(8)}  ${f(withEvents.rssMb, 1).padStart(7)}  ${f(withEvents.heapMb).padStart(8)}`,
      `per idle subscription: ${f(per(baseline.cpuMsPerS, withEvents.cpuMsPerS), 3)} ms CPU per s (${f(per(baseline.cpuMsPerS, withEvents.cpuMsPerS) / 10, 4)} % of a core), ` +
        `${f(per(baseline.rssMb, withEvents.rssMb) * 1024, 0)} KB RSS, ${f(per(baseline.heapMb, withEvents.heapMb) * 1024, 0)} KB heap`,
      JSON.stringify({ bench: 'camera-events', cameras: CAMERAS, span_s: SPAN_MS / 1000, baseline, subscribed: withEvents }),
    ].join('\n') + '\n',
  );
}

async function waitFor(condition: () => boolean): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('camera events bench: cameras did not come up within 60 s');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

await main();
