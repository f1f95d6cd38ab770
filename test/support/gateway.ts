// A real Gateway in this process on the test site (support/site.ts), its broker on 127.0.0.1
// port 0, and helpers to command it over MQTT and watch the device side.
import { randomUUID } from 'node:crypto';
import type { TestContext } from 'node:test';
import type { CommandResult } from '../../src/commands/result.js';
import { Broker } from '../../src/broker/broker.js';
import type { GatehouseConfig } from '../../src/config.js';
import { Gateway } from '../../src/gateway.js';
import { topics } from '../../src/topics.js';
import type { ModbusDevice, WriteRecord } from './modbus-device.js';
import { connectClient, subscribeCollect, type Collector, type MqttClient } from './mqtt-client.js';
import { GATEWAY_ID, SITE, USERS, configDocument, loadHarnessConfig, testLogger, type DeviceRef, type HarnessOptions } from './site.js';
import { makeTempDir, removeTempDir } from './temp.js';
import { WAIT_MS, until } from './wait.js';

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
  const dir = makeTempDir('e2e');
  gatewaysByDataDir.set(dir, []);
  t.after(async () => {
    await Promise.all((gatewaysByDataDir.get(dir) ?? []).map((stop) => stop()));
    gatewaysByDataDir.delete(dir);
    removeTempDir(dir);
  });
  return dir;
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

/** Waits for `value` on the availability topic of `ref`, among what `availability` collected at or after index `from`. */
export async function waitForAvailability(availability: Collector, ref: Pick<DeviceRef, 'kind' | 'id'>, value: 'online' | 'offline', from = 0, timeoutMs = WAIT_MS): Promise<void> {
  await availability.waitFor(
    (m) => availability.messages.indexOf(m) >= from && m.topic === topicOf(ref, 'availability') && m.payload.toString() === value,
    timeoutMs,
  );
}

// ---------------------------------------------------------------------------------------------
// The usual start of a test: a gateway, a client, and what it watches

export interface Session {
  gw: RunningGateway;
  client: MqttClient;
  /** What arrives on the result topic of the device (or on the filter given instead). */
  results: Collector;
}

export interface SessionOptions extends HarnessOptions {
  /** Who the client logs in as (guard by default). */
  as?: keyof typeof USERS;
  clientId?: string;
}

/**
 * Starts a gateway (with `opts`), logs a client in and watches the results of `watched`: a device
 * (its result topic) or a topic filter. Everything ends after the test.
 */
export async function startSession(t: TestContext, device: ModbusDevice, watched: Pick<DeviceRef, 'kind' | 'id'> | string, opts: SessionOptions = {}): Promise<Session> {
  const { as = 'guard', clientId, ...harness } = opts;
  const gw = await startGateway(t, device, harness);
  const client = await clientAs(t, gw.port, as, clientId);
  const results = await watch(client, typeof watched === 'string' ? watched : topicOf(watched, 'result'));
  return { gw, client, results };
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
