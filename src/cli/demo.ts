import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseConfigDocument } from '../config.js';
import { createLogger } from '../log.js';
import { packageRoot } from '../paths.js';
import { topics } from '../topics.js';
import { TestOnvifCamera } from '../simulator/onvif-camera/camera.js';
import { SiteSimulator, type SimulatedDevice } from '../simulator/site-simulator.js';
import type { CliCommand } from './index.js';
import { loadOrReport } from './load.js';
import { runUntilSignalled } from './service.js';

export const DEMO_CONFIG_FILE = join(packageRoot(), 'config', 'demo.yaml');
/** The transport in the demo config that is pointed at the in-process simulator. */
const SIMULATOR_TRANSPORT = 'simulator';
/** The onvif transport in the demo config that is pointed at the in-process simulated camera. */
const CAMERA_TRANSPORT = 'camera-sim';

interface DemoDocument {
  broker?: { port?: number };
  transports: Record<string, { port?: number; xaddr?: string; user?: string; password?: string }>;
  devices: { kind: 'gate' | 'turnstile' | 'camera'; id: string; transport: string; options: { unit?: number } }[];
}

interface BannerFacts {
  site: string;
  port: number;
  cameraXaddr: string;
  /** http://host:port of the Prometheus endpoint; undefined when metrics are off or not listening. */
  metricsBase: string | undefined;
  /** The technician console's URL; undefined when it is off. */
  consoleUrl: string | undefined;
}

function banner({ site, port, cameraXaddr, metricsBase, consoleUrl }: BannerFacts): string {
  const metrics = metricsBase === undefined ? '' : `  Prometheus metrics: curl ${metricsBase}/metrics\n`;
  const consoleLine = consoleUrl === undefined ? '' : `  technician console: ${consoleUrl} (users: guard / guard-demo, display / display-demo, tech / tech-demo)\n`;
  const guard = `-u guard -P guard-demo -q 1`;
  return `
  gatehouse demo: site "${site}", MQTT on 127.0.0.1:${port}, simulated gates, a turnstile, a barrier and a camera.
  simulated ONVIF camera lobby-cam: ${cameraXaddr}
${metrics}${consoleLine}
  watch everything but the camera's JPEG bytes (anonymous, read-only):
    mosquitto_sub -p ${port} -t '${topics.siteTree(site)}' -T '${topics.imageFilter(site)}' -v
  open the main gate for 3 s as the guard (users: guard / guard-demo, display / display-demo):
    mosquitto_pub -p ${port} ${guard} -t ${topics.command(site, 'gate', 'main-gate', 'unlock')} -m '{"duration_ms":3000}'
  the lobby camera takes a picture each time the main gate opens (a link); save the next one:
    mosquitto_sub -p ${port} -C 1 -N -t ${topics.image(site, 'lobby-cam')} > snapshot.jpg
  or take one now (run the mosquitto_sub above first, in another terminal):
    mosquitto_pub -p ${port} ${guard} -t ${topics.command(site, 'camera', 'lobby-cam', 'snapshot')} -n
  the lobby camera sees motion for 3 s (a motion event, and a snapshot through a link); tamper alike:
    curl -X POST ${new URL('/simulator/motion', cameraXaddr).href}

`;
}

export const demo: CliCommand = {
  async run(values) {
    const document = parseConfigDocument(readFileSync(DEMO_CONFIG_FILE, 'utf8'), DEMO_CONFIG_FILE) as DemoDocument;
    const simulated: SimulatedDevice[] = document.devices
      .filter((d) => d.transport === SIMULATOR_TRANSPORT)
      .map((d) => ({ unit: d.options.unit!, kind: d.kind as 'gate' | 'turnstile', name: d.id }));
    const bootLog = createLogger(process.env.GATEHOUSE_LOG_LEVEL ?? 'info');
    const simulator = new SiteSimulator({
      devices: simulated,
      seed: values.seed === undefined ? undefined : Number(values.seed),
      log: bootLog.child({ component: 'simulator' }),
    });
    const { port } = await simulator.start();
    document.transports[SIMULATOR_TRANSPORT].port = port;
    const cameraTransport = document.transports[CAMERA_TRANSPORT];
    const camera = new TestOnvifCamera({ user: cameraTransport.user, password: cameraTransport.password });
    try {
      await camera.start();
    } catch (err) {
      await simulator.stop();
      throw err;
    }
    cameraTransport.xaddr = camera.xaddr;
    const stopSimulators = async () => {
      await camera.stop();
      await simulator.stop();
    };
    if (values.port !== undefined) document.broker = { ...document.broker, port: Number(values.port) };

    const config = loadOrReport({ document, overrides: { data_dir: values['data-dir'] as string | undefined } }, DEMO_CONFIG_FILE);
    if (!config) {
      await stopSimulators();
      return 1;
    }
    const log = createLogger(config.log.level);
    // A closed terminal turns writes to it into EIO/EPIPE errors; they must not keep the demo from stopping.
    for (const stream of [process.stdout, process.stderr]) stream.on('error', () => undefined);
    return runUntilSignalled(
      config,
      log,
      (gateway) => {
        const metricsPort = gateway.metricsPort;
        const metricsBase = metricsPort === undefined ? undefined : `http://${config.metrics.host}:${metricsPort}`;
        process.stderr.write(banner({ site: config.site, port: gateway.brokerPort, cameraXaddr: camera.xaddr, metricsBase, consoleUrl: gateway.consoleUrl }));
      },
      () => stopSimulators(),
      // The demo runs in a terminal: closing it (SIGHUP) ends the demo, as Ctrl-C (SIGINT) does.
      { hangup: 'stop', configFiles: [DEMO_CONFIG_FILE] },
    );
  },
};
