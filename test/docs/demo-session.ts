// The demo (support/demo.ts) for running the documentation's examples against it: started, then
// waited for until every device of config/demo.yaml is online, as the examples expect.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseConfigDocument } from '../../src/config.js';
import { PACKAGE_ROOT } from '../support/cli-process.js';
import { startDemo as startDemoProcess } from '../support/demo.js';
import { mosquittoSub } from '../support/mosquitto.js';

const START_TIMEOUT_MS = 60_000;

export interface DemoSession {
  brokerPort: number;
  metricsPort: number;
  dataDir: string;
  /** The last of what the demo wrote (for failure messages). */
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
  const demo = await startDemoProcess({}, START_TIMEOUT_MS);
  const output = () => `${demo.stderr}\n${demo.stdout}`.slice(-20_000);
  try {
    if (demo.port === 0 || demo.metricsPort === 0) throw new Error(`the demo's log named no broker or metrics port:\n${output()}`);
    // Online means every device had its first attempt; the examples expect every device online
    // (the camera's set-up may take a moment longer), so wait for the retained availability.
    const { filter, topics } = availabilityTopics();
    const watcher = await mosquittoSub({ port: demo.port, topics: [filter] });
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
    await demo.stop();
    throw err;
  }
  return { brokerPort: demo.port, metricsPort: demo.metricsPort, dataDir: demo.dataDir, output, stop: () => demo.stop() };
}
