// Gateways with the cloud uplink on, for the uplink tests: the config of test/gateway/harness.ts
// (a pymodbus device with two gates and a turnstile) plus an `uplink` section pointing at a
// mosquitto of test/uplink/cloud-broker.ts.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import type { Logger } from 'pino';
import type { GatehouseConfig } from '../../src/config.js';
import { Gateway } from '../../src/gateway.js';
import { openDatabase } from '../../src/store/database.js';
import { readOutboxStats, type StoredOutboxStats } from '../../src/store/sqlite-outbox.js';
import { configDocument, loadHarnessConfig, testLogger, type HarnessOptions } from '../gateway/harness.js';
import type { ModbusDevice } from '../support/modbus-device.js';

export { GATE_A, GATE_B, TURNSTILE, UNITS, SITE, GATEWAY_ID, resetDevice, sleep, until, uniqueId, waitForCoil, writesOf } from '../gateway/harness.js';

export interface UplinkHarnessOptions {
  dataDir?: string;
  /** Merged over the default uplink section. */
  uplink?: Record<string, unknown>;
  harness?: HarnessOptions;
  /** The gateway's logger (a silent one when absent), for tests that read its log records. */
  logger?: Logger;
}

export interface UplinkGateway {
  gateway: Gateway;
  config: Readonly<GatehouseConfig>;
  dataDir: string;
  port: number;
  stop(): Promise<void>;
}

/** The uplink section every test starts from: quick reconnects, a small window. */
export function uplinkSection(url: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    enabled: true,
    url,
    inflight: 20,
    keepalive_s: 5,
    connect_timeout_ms: 3000,
    backoff: { initial_ms: 50, max_ms: 400 },
    flush_on_stop_ms: 3000,
    ...extra,
  };
}

/** A full config document (harness devices + uplink) for a device on `modbusPort`. */
export async function uplinkDocument(modbusPort: number, dataDir: string, url: string, opts: UplinkHarnessOptions = {}): Promise<Record<string, unknown>> {
  const doc = await configDocument(modbusPort, dataDir, opts.harness);
  doc.uplink = uplinkSection(url, opts.uplink);
  return doc;
}

const stopsByDir = new Map<string, (() => Promise<void>)[]>();

/** A temporary data dir removed after the test, once every gateway using it has stopped. */
export function uplinkDataDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-uplink-'));
  stopsByDir.set(dir, []);
  t.after(async () => {
    await Promise.all((stopsByDir.get(dir) ?? []).map((stop) => stop()));
    stopsByDir.delete(dir);
    rmSync(dir, { recursive: true, force: true });
  });
  return dir;
}

/** Starts an in-process Gateway with the uplink on; it is stopped after the test. */
export async function startUplinkGateway(t: TestContext, device: ModbusDevice, url: string, opts: UplinkHarnessOptions = {}): Promise<UplinkGateway> {
  const dataDir = opts.dataDir ?? uplinkDataDir(t);
  const config = loadHarnessConfig(await uplinkDocument(device.port, dataDir, url, opts));
  const gateway = new Gateway(config, opts.logger ?? testLogger());
  let stopped: Promise<void> | undefined;
  const stop = () => (stopped ??= gateway.stop());
  t.after(stop);
  stopsByDir.get(dataDir)?.push(stop);
  await gateway.start();
  return { gateway, config, dataDir, port: gateway.brokerPort, stop };
}

/** The outbox figures from the database, through a second (read-only) connection. */
export function storedOutbox(dataDir: string): StoredOutboxStats {
  const db = openDatabase(dataDir, { readonly: true });
  try {
    return readOutboxStats(db);
  } finally {
    db.close();
  }
}

/** Per topic, the payloads in arrival order with later repeats of a payload removed. */
export function firstArrivals(messages: { topic: string; text: string }[], topic: string): string[] {
  const seen = new Set<string>();
  const order: string[] = [];
  for (const m of messages) {
    if (m.topic !== topic || seen.has(m.text)) continue;
    seen.add(m.text);
    order.push(m.text);
  }
  return order;
}
