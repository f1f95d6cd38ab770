// The test site every end-to-end test shares: two gates and a turnstile on one pymodbus device
// (Modbus TCP), users guard and viewer, and the config document (the shape of config/demo.yaml)
// that a gateway in this process (support/gateway.ts) or a child process (support/gateway-process.ts)
// runs from.
import { beforeEach } from 'node:test';
import { pino, type Logger } from 'pino';
import { hashPassword } from '../../src/broker/password.js';
import { formatIssues, loadConfig, type GatehouseConfig } from '../../src/config.js';
import { sharedModbusDevice, type ModbusDevice } from './modbus-device.js';

export const SITE = 'hq';
export const GATEWAY_ID = 'gw';
export const TRANSPORT = 'plc';

/** The three devices of the site, with the Modbus unit each answers on. */
export const GATE_A = { kind: 'gate', id: 'gate-a', unit: 1 } as const;
export const GATE_B = { kind: 'gate', id: 'gate-b', unit: 2 } as const;
export const TURNSTILE = { kind: 'turnstile', id: 'lobby', unit: 3 } as const;
export type DeviceRef = typeof GATE_A | typeof GATE_B | typeof TURNSTILE;
export const UNITS = [GATE_A.unit, GATE_B.unit, TURNSTILE.unit];

/** guard may publish commands and subscribe to everything; viewer may only subscribe to the site. */
export const USERS = {
  guard: { username: 'guard', password: 'guard-secret-1' },
  viewer: { username: 'viewer', password: 'viewer-secret-1' },
} as const;

const debug = Boolean(process.env.GATEHOUSE_TEST_DEBUG);

/** Silent, or debug on stderr with GATEHOUSE_TEST_DEBUG set. */
export function testLogger(): Logger {
  return pino({ level: debug ? 'debug' : 'silent' }, process.stderr);
}

let hashes: Promise<{ guard: string; viewer: string }> | undefined;

function passwordHashes(): Promise<{ guard: string; viewer: string }> {
  hashes ??= (async () => ({
    guard: await hashPassword(USERS.guard.password),
    viewer: await hashPassword(USERS.viewer.password),
  }))();
  return hashes;
}

export interface HarnessOptions {
  /** Reuse a data dir (a restart); a fresh temporary one otherwise. */
  dataDir?: string;
  /** Merged over the `commands` section. */
  commands?: Record<string, unknown>;
  /** Merged over the transport entry (e.g. timeout_ms). */
  transport?: Record<string, unknown>;
  /** Merged over both gates' top-level keys (settings such as on_start, unlock_ms, poll_ms). */
  gates?: Record<string, unknown>;
  gateA?: Record<string, unknown>;
  gateB?: Record<string, unknown>;
  turnstile?: Record<string, unknown>;
  /** Merged over the `metrics` section (by default enabled on 127.0.0.1, port 0). */
  metrics?: Record<string, unknown>;
}

function gateEntry(ref: DeviceRef, extra: Record<string, unknown>): Record<string, unknown> {
  return {
    id: ref.id,
    kind: 'gate',
    name: `Gate ${ref.id}`,
    driver: 'modbus',
    transport: TRANSPORT,
    poll_ms: 100,
    offline_after: 2,
    command_timeout_ms: 2000,
    on_start: 'lock',
    unlock_ms: 500,
    held_open_ms: 1000,
    relock_grace_ms: 0,
    options: { unit: ref.unit, outputs: { unlock: { coil: 0 } }, inputs: { door: { discrete_input: 0 } } },
    ...extra,
  };
}

/** A complete config document for a device listening on `modbusPort`. */
export async function configDocument(modbusPort: number, dataDir: string, opts: HarnessOptions = {}): Promise<Record<string, unknown>> {
  const hash = await passwordHashes();
  return {
    site: SITE,
    gateway_id: GATEWAY_ID,
    data_dir: dataDir,
    log: { level: 'silent' },
    broker: { host: '127.0.0.1', port: 0, anonymous: { enabled: false } },
    users: [
      { username: USERS.guard.username, password_hash: hash.guard, publish: [`site/${SITE}/#`], subscribe: ['#'] },
      { username: USERS.viewer.username, password_hash: hash.viewer, publish: [], subscribe: [`site/${SITE}/#`] },
    ],
    commands: { timeout_ms: 2000, max_age_ms: 30_000, clock_skew_ms: 2000, queue_limit: 16, ...opts.commands },
    // Port 0: gateways of parallel test files never contend for the default metrics port.
    metrics: { enabled: true, host: '127.0.0.1', port: 0, ...opts.metrics },
    transports: {
      [TRANSPORT]: {
        type: 'modbus-tcp',
        host: '127.0.0.1',
        port: modbusPort,
        timeout_ms: 300,
        backoff: { initial_ms: 50, max_ms: 200 },
        ...opts.transport,
      },
    },
    devices: [
      gateEntry(GATE_A, { ...opts.gates, ...opts.gateA }),
      gateEntry(GATE_B, { ...opts.gates, ...opts.gateB }),
      {
        id: TURNSTILE.id,
        kind: 'turnstile',
        name: 'Lobby turnstile',
        driver: 'modbus',
        transport: TRANSPORT,
        poll_ms: 100,
        offline_after: 2,
        command_timeout_ms: 2000,
        on_start: 'lock',
        pulse_ms: 100,
        options: {
          unit: TURNSTILE.unit,
          outputs: { pass_in: { coil: 0 }, pass_out: { coil: 1 }, free: { coil: 2 } },
          inputs: { passages_in: { input_register: 0 }, passages_out: { input_register: 1 } },
        },
        ...opts.turnstile,
      },
    ],
  };
}

export function loadHarnessConfig(document: unknown): Readonly<GatehouseConfig> {
  // An empty env: GATEHOUSE_* variables of whoever runs the tests must not leak in.
  const loaded = loadConfig({ document, env: {} });
  if (!loaded.ok) throw new Error(`harness config is invalid:\n${formatIssues(loaded.issues)}`);
  return loaded.config;
}

/** Puts every table of every unit back to zero (no write records), so tests start alike. */
export async function resetDevice(device: ModbusDevice, units: readonly number[] = UNITS): Promise<void> {
  for (const unit of units) {
    for (const table of ['co', 'di'] as const) await device.set(unit, table, 0, new Array(16).fill(false));
    for (const table of ['hr', 'ir'] as const) await device.set(unit, table, 0, new Array(16).fill(0));
  }
}

/**
 * The site's pymodbus device for every test of a file: started before the first test, reset
 * before each (so tests start alike), stopped after the last. Call it at the top level of a file.
 */
export function siteDevice(opts: { units?: number[]; reset?: boolean } = {}): ModbusDevice {
  const units = opts.units ?? UNITS;
  const device = sharedModbusDevice({ units });
  if (opts.reset ?? true) beforeEach(() => resetDevice(device, units));
  return device;
}
