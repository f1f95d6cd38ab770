// The gateway config of the RTU benchmark: one Modbus RTU bus (a pty) shared by N gates, each its
// own unit id on the one pymodbus device at the far end; broker and data dir on this machine only.
import { BENCH_GATEWAY, BENCH_SITE, BENCH_USER, gateId, gateUnit } from './bench-config.js';

export const RTU_BUS = 'rs485-bench';

export interface RtuBenchConfigOptions {
  brokerPort: number;
  /** The gateway's end of the pty pair. */
  serialPath: string;
  baudRate: number;
  gates: number;
  pollMs: number;
  dataDir: string;
  passwordHash: string;
  logLevel: string;
}

export function buildRtuBenchConfig(o: RtuBenchConfigOptions): Record<string, unknown> {
  const devices = Array.from({ length: o.gates }, (_, i) => ({
    id: gateId(i),
    kind: 'gate',
    driver: 'modbus',
    transport: RTU_BUS,
    poll_ms: o.pollMs,
    on_start: 'lock',
    options: {
      unit: gateUnit(i),
      outputs: { unlock: { coil: 0 } },
      inputs: { door: { discrete_input: 0 } },
    },
  }));
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
        publish: [`site/${BENCH_SITE}/gate/+/unlock`],
        subscribe: [`site/${BENCH_SITE}/#`],
      },
    ],
    // inter_frame_ms is left to its default: t3.5 for the baud rate (2 ms above 19200 baud).
    transports: {
      [RTU_BUS]: { type: 'modbus-rtu', path: o.serialPath, baud_rate: o.baudRate, timeout_ms: 1000, backoff: { initial_ms: 200, max_ms: 2000 } },
    },
    devices,
  };
}
