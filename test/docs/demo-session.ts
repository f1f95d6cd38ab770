// A demo gateway (`gatehouse demo`, what `npm start` runs) as a child process on ports the OS
// picks, for running the documentation's examples against it. Its ports come from its JSON log
// lines on stdout (`broker listening`, `metrics listening`), not from the banner, which is prose.
import { type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseConfigDocument } from '../../src/config.js';
import { mosquittoSub } from '../support/mosquitto.js';
import { PACKAGE_ROOT, spawnCli } from '../cli/cli-process.js';

const START_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 30_000;

export interface DemoSession {
  brokerPort: number;
  metricsPort: number;
  dataDir: string;
  /** Everything the demo wrote so far (for failure messages). */
  output(): string;
  stop(): Promise<void>;
}

interface DemoDocument {
  site: string;
  gateway_id: string;
  devices: { kind: string; id: string }[];
}

/** The availability topics of config/demo.yaml's devices and gateway: all `online` means ready. */
function availabilityTopics(): { filter: string; topics: string[] } {
  const file = join(PACKAGE_ROOT, 'config', 'demo.yaml');
  const doc = parseConfigDocument(readFileSync(file, 'utf8'), file) as DemoDocument;
  return {
    filter: `site/${doc.site}/+/+/availability`,
    topics: [...doc.devices.map((d) => `site/${doc.site}/${d.kind}/${d.id}/availability`), `site/${doc.site}/gateway/${doc.gateway_id}/availability`],
  };
}

export async function startDemo(): Promise<DemoSession> {
  const dataDir = mkdtempSync(join(tmpdir(), 'gatehouse-docs-demo-'));
  // --port 0 and GATEHOUSE_METRICS_PORT=0: free ports, so the test never depends on 1883 or 9464.
  const child: ChildProcessWithoutNullStreams = spawnCli(['demo', '--port', '0', '--data-dir', dataDir], { env: { GATEHOUSE_METRICS_PORT: '0' } });
  child.stdin.end();
  let transcript = '';
  child.stderr.on('data', (chunk: Buffer) => (transcript = (transcript + chunk.toString()).slice(-20_000)));
  const closed = new Promise<void>((resolve) => child.once('close', () => resolve()));
  let brokerPort = 0;
  let metricsPort = 0;
  const online = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the demo was not online within ${START_TIMEOUT_MS} ms:\n${transcript}`)), START_TIMEOUT_MS);
    void closed.then(() => {
      clearTimeout(timer);
      reject(new Error(`the demo exited before it was online:\n${transcript}`));
    });
    createInterface({ input: child.stdout }).on('line', (line) => {
      transcript = (transcript + line + '\n').slice(-20_000);
      let entry: { msg?: string; protocol?: string; port?: number };
      try {
        entry = JSON.parse(line) as typeof entry;
      } catch {
        return;
      }
      if (entry.msg === 'broker listening' && entry.protocol === 'mqtt+tcp') brokerPort = entry.port ?? 0;
      if (entry.msg === 'metrics listening') metricsPort = entry.port ?? 0;
      if (entry.msg === 'gatehouse online') {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
      await closed;
      clearTimeout(killer);
    }
    rmSync(dataDir, { recursive: true, force: true });
  };
  try {
    await online;
    if (brokerPort === 0 || metricsPort === 0) throw new Error(`the demo's log named no broker or metrics port:\n${transcript}`);
    // Online means every device had its first attempt; the examples expect every device online
    // (the camera's set-up may take a moment longer), so wait for the retained availability.
    const { filter, topics } = availabilityTopics();
    const watcher = await mosquittoSub({ port: brokerPort, topics: [filter] });
    try {
      const latest = new Map<string, string>();
      await watcher.waitFor((m) => {
        latest.set(m.topic, m.text);
        return topics.every((t) => latest.get(t) === 'online');
      }, START_TIMEOUT_MS);
    } finally {
      await watcher.stop();
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return { brokerPort, metricsPort, dataDir, output: () => transcript, stop };
}
