import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseConfigDocument } from '../config.js';
import { createLogger } from '../log.js';
import { packageRoot } from '../paths.js';
import { SiteSimulator, type SimulatedDevice } from '../simulator/site-simulator.js';
import type { CliCommand } from './index.js';
import { loadOrReport } from './load.js';
import { runUntilSignalled } from './service.js';

export const DEMO_CONFIG_FILE = join(packageRoot(), 'config', 'demo.yaml');
/** The transport in the demo config that is pointed at the in-process simulator. */
const SIMULATOR_TRANSPORT = 'simulator';

interface DemoDocument {
  broker?: { port?: number };
  transports: Record<string, { port?: number }>;
  devices: { kind: 'gate' | 'turnstile'; id: string; transport: string; options: { unit: number } }[];
}

function banner(port: number, site: string): string {
  return `
  gatehouse demo: site "${site}", MQTT on 127.0.0.1:${port}, simulated gates and a turnstile.

  watch everything (anonymous, read-only):
    mosquitto_sub -p ${port} -t 'site/${site}/#' -v
  open the main gate for 3 s as the guard (users: guard / guard-demo, display / display-demo):
    mosquitto_pub -p ${port} -u guard -P guard-demo -q 1 -t site/${site}/gate/main-gate/unlock -m '{"duration_ms":3000}'

`;
}

export const demo: CliCommand = {
  options: { 'data-dir': { type: 'string' }, port: { type: 'string' }, seed: { type: 'string' } },
  async run(values) {
    const document = parseConfigDocument(readFileSync(DEMO_CONFIG_FILE, 'utf8'), DEMO_CONFIG_FILE) as DemoDocument;
    const simulated: SimulatedDevice[] = document.devices
      .filter((d) => d.transport === SIMULATOR_TRANSPORT)
      .map((d) => ({ unit: d.options.unit, kind: d.kind, name: d.id }));
    const bootLog = createLogger(process.env.GATEHOUSE_LOG_LEVEL ?? 'info');
    const simulator = new SiteSimulator({
      devices: simulated,
      seed: values.seed === undefined ? undefined : Number(values.seed),
      log: bootLog.child({ component: 'simulator' }),
    });
    const { port } = await simulator.start();
    document.transports[SIMULATOR_TRANSPORT].port = port;
    if (values.port !== undefined) document.broker = { ...document.broker, port: Number(values.port) };

    const config = loadOrReport({ document, overrides: { data_dir: values['data-dir'] as string | undefined } }, DEMO_CONFIG_FILE);
    if (!config) {
      await simulator.stop();
      return 1;
    }
    const log = createLogger(config.log.level);
    return runUntilSignalled(
      config,
      log,
      (gateway) => process.stderr.write(banner(gateway.brokerPort, config.site)),
      () => simulator.stop(),
    );
  },
};
