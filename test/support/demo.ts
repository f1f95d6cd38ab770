// The demo (`gatehouse demo`, what `npm start` runs) as a child process on ports the OS picks
// (--port 0, GATEHOUSE_METRICS_PORT=0), in a temporary data directory, for tests that use it as a
// user would.
import { spawnGatehouse, type GatehouseProcess } from './gateway-process.js';
import { makeTempDir, removeTempDir } from './temp.js';
import { until } from './wait.js';

// The last line of the banner the demo prints on stderr once it is online.
const BANNER_DONE = /mosquitto_pub -p \d+ -u guard -P guard-demo -q 1 -t site\/demo\/camera/;
const DEFAULT_WAIT_MS = 60_000;
const STOP_WAIT_MS = 30_000;

export interface DemoProcess extends GatehouseProcess {
  /** The MQTT port (from the `broker listening` log line); 0 when the demo exited before it listened. */
  readonly port: number;
  /** The metrics port (from the `metrics listening` log line); 0 likewise. */
  readonly metricsPort: number;
  /** The technician console's port (GATEHOUSE_CONSOLE_PORT=0); 0 when it is off. */
  readonly consolePort: number;
  dataDir: string;
  /** SIGKILLs the demo if still running and removes its data directory. */
  cleanUp(): Promise<void>;
  /** SIGTERM (SIGKILL if it does not end), then removes its data directory. */
  stop(): Promise<void>;
}

function portFrom(demo: GatehouseProcess, msg: string, protocol?: string): number {
  const line = demo.logs.find((l) => l.msg === msg && (protocol === undefined || l.protocol === protocol));
  return typeof line?.port === 'number' ? line.port : 0;
}

/**
 * Starts the demo with `env` added to its environment; resolves once it is online (its banner
 * printed, `gatehouse online` logged) or has exited (then port is 0). The caller ends it (cleanUp or stop).
 */
export async function startDemo(env: Record<string, string> = {}, waitMs = DEFAULT_WAIT_MS): Promise<DemoProcess> {
  const dataDir = makeTempDir('demo');
  const demo = spawnGatehouse(null, ['demo', '--port', '0', '--data-dir', dataDir], { env: { GATEHOUSE_METRICS_PORT: '0', GATEHOUSE_CONSOLE_PORT: '0', ...env } });
  demo.child.stdin.end();
  const cleanUp = async () => {
    if (demo.running) await demo.kill('SIGKILL');
    removeTempDir(dataDir);
  };
  const stop = async () => {
    if (demo.running) {
      demo.signal('SIGTERM');
      await demo.exit(STOP_WAIT_MS);
    }
    removeTempDir(dataDir);
  };
  try {
    // The banner (stderr) and the log lines naming the ports (stdout) come through separate pipes.
    const online = () => BANNER_DONE.test(demo.stderr) && demo.logs.some((l) => l.msg === 'gatehouse online');
    await until(() => `the demo's banner and log; stderr:\n${demo.stderr}\nstdout:\n${demo.stdout.slice(-2000)}`, () => online() || !demo.running, waitMs);
  } catch (err) {
    await cleanUp();
    throw err;
  }
  return Object.assign(demo, {
    port: portFrom(demo, 'broker listening', 'mqtt+tcp'),
    metricsPort: portFrom(demo, 'metrics listening'),
    consolePort: portFrom(demo, 'console listening'),
    dataDir,
    cleanUp,
    stop,
  });
}
