// The gateway config the benchmark runs: N gates, each with its own Modbus TCP connection to the
// one pymodbus device and its own unit id, a bench user, broker and data dir on this machine only.

export const BENCH_SITE = 'bench';
export const BENCH_GATEWAY = 'bench-gw';
export const BENCH_USER = 'bench';
export const ECHO_PREFIX = 'bench/echo';

export interface BenchConfigOptions {
  brokerPort: number;
  modbusPort: number;
  devices: number;
  dataDir: string;
  pollMs: number;
  passwordHash: string;
  logLevel: string;
}

export function gateId(index: number): string {
  return `g${String(index + 1).padStart(2, '0')}`;
}

/** Unit id of gate `index` on the pymodbus device. */
export function gateUnit(index: number): number {
  return index + 1;
}

export function buildBenchConfig(o: BenchConfigOptions): Record<string, unknown> {
  const transports: Record<string, unknown> = {};
  const devices: unknown[] = [];
  for (let i = 0; i < o.devices; i++) {
    const link = `link-${gateId(i)}`;
    transports[link] = { type: 'modbus-tcp', host: '127.0.0.1', port: o.modbusPort, timeout_ms: 1000, backoff: { initial_ms: 200, max_ms: 2000 } };
    devices.push({
      id: gateId(i),
      kind: 'gate',
      driver: 'modbus',
      transport: link,
      poll_ms: o.pollMs,
      on_start: 'lock',
      options: {
        unit: gateUnit(i),
        outputs: { unlock: { coil: 0 } },
        inputs: { door: { discrete_input: 0 } },
      },
    });
  }
  return {
    site: BENCH_SITE,
    gateway_id: BENCH_GATEWAY,
    data_dir: o.dataDir,
    log: { level: o.logLevel },
    broker: { host: '127.0.0.1', port: o.brokerPort, anonymous: { enabled: false } },
    // Metrics on, as in production, on a port of their own: the default 9464 may be taken.
    metrics: { enabled: true, host: '127.0.0.1', port: 0 },
    users: [
      {
        username: BENCH_USER,
        password_hash: o.passwordHash,
        publish: [`site/${BENCH_SITE}/gate/+/unlock`, `${ECHO_PREFIX}/#`],
        subscribe: [`site/${BENCH_SITE}/#`, `${ECHO_PREFIX}/#`],
      },
    ],
    transports,
    devices,
  };
}
