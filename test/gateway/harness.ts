// The end-to-end harness: a real Gateway in this process, its config pointing a modbus-tcp
// transport at a pymodbus device (test/support/modbus-device.ts) with two gates and a turnstile,
// its broker on 127.0.0.1 port 0, and helpers to command it over MQTT and watch the device side.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { pino, type Logger } from 'pino';
import { Broker } from '../../src/broker/broker.js';
import { hashPassword } from '../../src/broker/password.js';
import type { CommandResult } from '../../src/commands/result.js';
import { formatIssues, loadConfig, type GatehouseConfig } from '../../src/config.js';
import { Gateway } from '../../src/gateway.js';
import { topics } from '../../src/topics.js';
import type { ModbusDevice, WriteRecord } from '../support/modbus-device.js';
import { connectClient, subscribeCollect, type Collector, type MqttClient } from '../support/mqtt-client.js';

export const SITE = 'hq';
export const GATEWAY_ID = 'gw';
export const TRANSPORT = 'plc';
export const WAIT_MS = 10_000;

/** The three devices every harness config has, with the Modbus unit each answers on. */
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

/** A complete config document (the shape of config/demo.yaml) for a device listening on `modbusPort`. */
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

/** Puts every table of every unit back to zero (no write records), so tests start alike. */
export async function resetDevice(device: ModbusDevice): Promise<void> {
  for (const unit of UNITS) {
    for (const table of ['co', 'di'] as const) await device.set(unit, table, 0, new Array(16).fill(false));
    for (const table of ['hr', 'ir'] as const) await device.set(unit, table, 0, new Array(16).fill(0));
  }
}

export interface RunningGateway {
  gateway: Gateway;
  config: Readonly<GatehouseConfig>;
  dataDir: string;
  /** MQTT port of the embedded broker. */
  port: number;
  /** Idempotent. */
  stop(): Promise<void>;
}

/** Stops of the gateways using each data dir, so the dir outlives them (after hooks run first come, first served). */
const gatewaysByDataDir = new Map<string, (() => Promise<void>)[]>();

/** Makes a temporary data dir, removed after the test once every gateway using it has stopped. */
export function tempDataDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-e2e-'));
  gatewaysByDataDir.set(dir, []);
  t.after(async () => {
    await Promise.all((gatewaysByDataDir.get(dir) ?? []).map((stop) => stop()));
    gatewaysByDataDir.delete(dir);
    rmSync(dir, { recursive: true, force: true });
  });
  return dir;
}

export function loadHarnessConfig(document: unknown): Readonly<GatehouseConfig> {
  // An empty env: GATEHOUSE_* variables of whoever runs the tests must not leak in.
  const loaded = loadConfig({ document, env: {} });
  if (!loaded.ok) throw new Error(`harness config is invalid:\n${formatIssues(loaded.issues)}`);
  return loaded.config;
}

/** Builds the config, starts a Gateway in this process, and stops it after the test. */
export async function startGateway(t: TestContext, device: ModbusDevice, opts: HarnessOptions = {}): Promise<RunningGateway> {
  const dataDir = opts.dataDir ?? tempDataDir(t);
  return startGatewayFrom(t, await configDocument(device.port, dataDir, opts));
}

/**
 * Starts a Gateway in this process from a config document (configDocument's, edited where the
 * options do not reach), and stops it after the test, before its tempDataDir is removed.
 */
export async function startGatewayFrom(t: TestContext, document: Record<string, unknown>): Promise<RunningGateway> {
  const config = loadHarnessConfig(document);
  const gateway = new Gateway(config, testLogger());
  let stopped: Promise<void> | undefined;
  const stop = () => (stopped ??= gateway.stop());
  t.after(stop);
  gatewaysByDataDir.get(config.data_dir)?.push(stop);
  await gateway.start();
  return { gateway, config, dataDir: config.data_dir, port: gateway.brokerPort, stop };
}

// ---------------------------------------------------------------------------------------------
// MQTT side

export function topicOf(ref: Pick<DeviceRef, 'kind' | 'id'>, leaf: 'result' | 'state' | 'availability' | 'event'): string {
  return topics[leaf](SITE, ref.kind, ref.id);
}

export function commandTopic(ref: Pick<DeviceRef, 'kind' | 'id'>, command: string): string {
  return topics.command(SITE, ref.kind, ref.id, command);
}

export const gatewayAvailabilityTopic = topics.gatewayAvailability(SITE, GATEWAY_ID);

/** An MQTT.js client logged in as `user`, ended after the test. */
export async function clientAs(t: TestContext, port: number, user: keyof typeof USERS, clientId?: string): Promise<MqttClient> {
  const client = await connectClient({ port, ...USERS[user], clientId });
  t.after(() => client.endAsync(true));
  return client;
}

/** Subscribes `client` to `filter` and collects what arrives. */
export function watch(client: MqttClient, filter: string): Promise<Collector> {
  return subscribeCollect(client, filter, 1);
}

export function uniqueId(label: string): string {
  return `${label}-${randomUUID().slice(0, 8)}`;
}

/** Publishes a command at QoS 1 and waits for its PUBACK. */
export async function sendCommand(client: MqttClient, ref: Pick<DeviceRef, 'kind' | 'id'>, command: string, payload: unknown): Promise<void> {
  const body = payload === undefined ? '' : typeof payload === 'string' || Buffer.isBuffer(payload) ? payload : JSON.stringify(payload);
  await client.publishAsync(commandTopic(ref, command), body as string | Buffer, { qos: 1 });
}

export function parseResult(m: { payload: Buffer }): CommandResult {
  return JSON.parse(m.payload.toString('utf8')) as CommandResult;
}

export function parseJson(m: { payload: Buffer }): Record<string, unknown> {
  return JSON.parse(m.payload.toString('utf8')) as Record<string, unknown>;
}

/** Waits for the result with this id on a collector of result topics. */
export async function resultFor(results: Collector, id: string, timeoutMs = WAIT_MS): Promise<CommandResult> {
  return parseResult(await results.waitFor((m) => parseResult(m).id === id, timeoutMs));
}

export function resultsWithId(results: Collector, id: string): CommandResult[] {
  return results.messages.map(parseResult).filter((r) => r.id === id);
}

/** Waits until at least `count` results with this id arrived; returns them all. */
export function resultsFor(results: Collector, id: string, count: number, timeoutMs = WAIT_MS): Promise<CommandResult[]> {
  return until(`${count} results with id ${id}`, () => {
    const found = resultsWithId(results, id);
    return found.length >= count && found;
  }, timeoutMs);
}

// ---------------------------------------------------------------------------------------------
// Device side

/** Writes to `unit` recorded at or after index `from` of device.writes. */
export function writesOf(device: ModbusDevice, unit: number, from = 0): WriteRecord[] {
  return device.writes.slice(from).filter((w) => w.unit === unit);
}

/** The first coil write on `unit` at `address` with `value`, at or after index `from`. */
export function waitForCoil(device: ModbusDevice, unit: number, address: number, value: boolean, from: number, timeoutMs = WAIT_MS): Promise<WriteRecord> {
  return device.waitForWrite(
    (w) => device.writes.indexOf(w) >= from && w.unit === unit && w.table === 'co' && w.address === address && w.values[0] === value,
    timeoutMs,
  );
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Resolves with `promise`, or rejects naming `what` if it takes longer than `timeoutMs`. */
export function within<T>(promise: Promise<T>, what: string, timeoutMs = WAIT_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)), timeoutMs);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Polls `probe` until it returns something truthy. */
export async function until<T>(what: string, probe: () => T | undefined | null | false, timeoutMs = WAIT_MS): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined && value !== null && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(10);
  }
}

// ---------------------------------------------------------------------------------------------
// In-process observation of what the gateway hands to its broker

export interface PublishRecord {
  topic: string;
  payload: string;
  retain: boolean;
  /** Date.now() when the gateway published it. */
  at: number;
}

/**
 * Records every publish the gateway makes through its broker, for moments no MQTT client can see
 * (before the broker accepts connections). Wraps Broker.prototype.publish without changing it;
 * the wrapper is removed after the test.
 */
export function recordGatewayPublishes(t: TestContext): PublishRecord[] {
  const records: PublishRecord[] = [];
  const original = Broker.prototype.publish;
  Broker.prototype.publish = function (this: Broker, topic, payload, opts) {
    records.push({ topic, payload: payload.toString(), retain: opts.retain, at: Date.now() });
    return original.call(this, topic, payload, opts);
  };
  t.after(() => {
    Broker.prototype.publish = original;
  });
  return records;
}
