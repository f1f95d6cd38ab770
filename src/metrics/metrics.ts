// The gateway's Prometheus metrics and /healthz. A registry of its own (not prom-client's global
// one), event-driven counters the gateway feeds through narrow methods, and gauges refreshed from
// the gateway's parts at scrape time. Nothing here may throw into the gateway: every entry point
// catches and logs.

import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { CommandResult } from '../commands/result.js';
import type { SqliteDatabase } from '../store/database.js';
import { probeWritable } from '../store/health-probe.js';
import type { UplinkStateFields } from '../uplink/uplink.js';
import { EventLoopLag } from './event-loop-lag.js';
import { gatewayStatus, type GatewayIdentity, type GatewayStatusDocument, type StatusDeviceView } from './gateway-status.js';
import { HealthCheck, type HealthVerdict } from './health.js';
import { MetricsHttpServer } from './http-server.js';
import { isLoopbackHost } from './loopback.js';
import { processMetricsRegistry } from './process-metrics.js';
import type { RecentActivity } from './recent-activity.js';

export interface MetricsSettings {
  enabled: boolean;
  host: string;
  /** 0 picks a free port; the bound one is `GatewayMetrics.port` after start(). */
  port: number;
  /** /healthz is unhealthy when the event loop was blocked longer than this recently. */
  max_event_loop_lag_ms: number;
}

/** What the metrics read of the broker; the optional members are used when the broker has them. */
export interface BrokerView {
  connectedClients(): number;
  /** PUBLISH packets routed: `received` from clients, `published` by the gateway itself. */
  messageCounts?(): { received: number; published: number };
  /** Security counters by type (shape decided by the broker; numbers are exported, nested maps flattened). */
  securityCounters?(): unknown;
  /** Persistent sessions removed by broker.limits.session_expiry_s since start. */
  sessionsExpired?(): number;
}

export type DeviceView = StatusDeviceView;

export interface MetricsSources {
  version: string;
  /** When the gateway started, epoch ms. */
  startedAt: number;
  devices(): Iterable<DeviceView>;
  broker(): BrokerView | undefined;
  /** The uplink's state fields; undefined when the uplink is disabled. */
  uplink(): UplinkStateFields | undefined;
  /** The gateway's open database, probed with a real write for /healthz. */
  database(): SqliteDatabase | undefined;
  /** Site, gateway id and session for /status.json; without it (or `recent`) there is no /status.json. */
  identity?(): GatewayIdentity;
  /** The last device events and security refusals, for /status.json. */
  recent?: RecentActivity;
}

export interface MetricsLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

/** Seconds; commands answered from the pipeline's checks take well under 1 ms, Modbus round trips tens of ms, timeouts seconds. */
export const COMMAND_DURATION_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export const UPLINK_STATES = ['disabled', 'stopped', 'connecting', 'birth', 'up', 'waiting'] as const;

/** How long the database probe may wait for another process's write lock, ms (it blocks the event loop meanwhile). */
const PROBE_BUSY_TIMEOUT_MS = 200;

export interface HealthReport extends HealthVerdict {
  status: 'ok' | 'unhealthy';
  version: string;
  uptime_s: number;
}

export { isLoopbackHost };

function snakeCase(key: string): string {
  return key.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase();
}

/** Numeric leaves of a counters object as snake_case type → value; nested keys joined with `_`. */
export function flattenCounters(value: unknown, prefix = ''): [string, number][] {
  if (typeof value === 'number') return Number.isFinite(value) && value >= 0 && prefix ? [[prefix, value]] : [];
  if (value instanceof Map) value = Object.fromEntries(value);
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return [];
  return Object.entries(value).flatMap(([key, v]) => flattenCounters(v, prefix ? `${prefix}_${snakeCase(key)}` : snakeCase(key)));
}

/** Figures that can go down (open_connections, active_lockouts) are gauges, not counters. */
export function isCurrentValue(type: string): boolean {
  return /^(open|active|current)_/.test(type);
}

export class GatewayMetrics {
  private readonly registry = new Registry();
  private readonly lag = new EventLoopLag();
  private readonly health: HealthCheck;
  private server: MetricsHttpServer | undefined;

  private readonly commands: Counter<'kind' | 'command' | 'source' | 'status' | 'code'>;
  private readonly duplicates: Counter<'kind' | 'command' | 'source'>;
  private readonly duration: Histogram<'kind' | 'command' | 'status'>;
  private readonly pollFailures: Counter<'kind' | 'device' | 'code'>;
  private readonly availabilityChanges: Counter<'kind' | 'device' | 'availability'>;
  private readonly refreshers: [string, () => void][];

  constructor(
    private readonly settings: MetricsSettings,
    private readonly sources: MetricsSources,
    private readonly log: MetricsLogger,
  ) {
    const registers = [this.registry];
    this.health = new HealthCheck({
      lag: this.lag,
      maxLagMs: settings.max_event_loop_lag_ms,
      probeDatabase: () => {
        const db = sources.database();
        return db ? probeWritable(db, PROBE_BUSY_TIMEOUT_MS) : { ok: false, code: 'STORE_CLOSED', message: 'the database is not open' };
      },
    });
    const counter = <L extends string>(name: string, help: string, labelNames: L[]) => new Counter({ name, help, labelNames, registers });
    this.commands = counter(
      'gatehouse_commands_total',
      'Commands answered, by kind, command, source (local or cloud), status (ok or error) and result code (ok on success). Duplicates are counted apart.',
      ['kind', 'command', 'source', 'status', 'code'],
    );
    this.duplicates = counter('gatehouse_command_duplicates_total', 'Commands with an id already seen, answered again with the first result and not run.', ['kind', 'command', 'source']);
    this.duration = new Histogram({
      name: 'gatehouse_command_duration_seconds',
      help: 'Time from a command\'s arrival to its result (queue wait and device time included).',
      labelNames: ['kind', 'command', 'status'],
      buckets: COMMAND_DURATION_BUCKETS,
      registers,
    });
    this.pollFailures = counter('gatehouse_device_poll_failures_total', 'Polls (and start-up safe-state attempts) that failed, by device and error code.', ['kind', 'device', 'code']);
    this.availabilityChanges = counter('gatehouse_device_availability_changes_total', 'Times a device went online or offline.', ['kind', 'device', 'availability']);
    this.refreshers = this.scrapeTimeMetrics(registers);
  }

  /** The bound metrics port once started; undefined when disabled or not listening. */
  get port(): number | undefined {
    return this.server?.port || undefined;
  }

  /** Starts the event-loop monitor and the HTTP server. Never throws: a port that cannot be bound is logged and metrics stay off. */
  async start(): Promise<void> {
    if (!this.settings.enabled || this.server) return;
    const { host, port } = this.settings;
    this.lag.start();
    const server = new MetricsHttpServer({ host, port }, {
      metrics: async () => ({ contentType: this.registry.contentType, body: await this.scrape() }),
      health: () => {
        const report = this.healthReport();
        return { healthy: report.healthy, body: report as unknown as Record<string, unknown> };
      },
      status: () => this.statusDocument(),
    });
    try {
      // Once per process; it counts CPU from here, so early is better than at the first scrape.
      processMetricsRegistry();
      await server.start();
    } catch (err) {
      this.lag.stop();
      const code = (err as { code?: string }).code;
      this.log.error({ err: (err as Error).message, code, host, port }, 'metrics server not started; the gateway runs without /metrics and /healthz');
      return;
    }
    this.server = server;
    if (!isLoopbackHost(host)) {
      this.log.warn({ host, port: server.port }, 'metrics listen beyond loopback; /metrics and /healthz have no authentication, so firewall the port');
    }
    this.log.info({ host, port: server.port }, 'metrics listening');
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    this.lag.stop();
    try {
      await server?.stop();
    } catch (err) {
      this.log.warn({ err: String(err) }, 'metrics server did not close cleanly');
    }
  }

  /** Called with every terminal result the gateway publishes. */
  commandResult(result: CommandResult): void {
    try {
      const { kind, command, source, status } = result;
      if (result.duplicate) {
        this.duplicates.inc({ kind, command, source });
        return;
      }
      this.commands.inc({ kind, command, source, status, code: result.code ?? 'ok' });
      const totalMs = result.timing?.total_ms;
      if (typeof totalMs === 'number' && Number.isFinite(totalMs) && totalMs >= 0) this.duration.observe({ kind, command, status }, totalMs / 1000);
    } catch (err) {
      this.log.warn({ err: String(err) }, 'metrics: could not count a command result');
    }
  }

  /** A device's poll cycle failed; `code` is the DeviceError code (timeout, offline, device_error, ...). */
  pollFailed(kind: string, device: string, code: string): void {
    this.count(this.pollFailures, { kind, device, code }, 'a poll failure');
  }

  availabilityChanged(kind: string, device: string, availability: 'online' | 'offline'): void {
    this.count(this.availabilityChanges, { kind, device, availability }, 'an availability change');
  }

  private count<L extends string>(metric: Counter<L>, labels: Partial<Record<L, string>>, what: string): void {
    try {
      metric.inc(labels);
    } catch (err) {
      this.log.warn({ err: String(err) }, `metrics: could not count ${what}`);
    }
  }

  /** A device gone with a reload (or now under another kind): its series go with it, the other devices keep theirs. */
  async deviceRemoved(kind: string, device: string): Promise<void> {
    try {
      for (const metric of [this.pollFailures, this.availabilityChanges] as Counter<string>[]) {
        for (const { labels } of (await metric.get()).values) {
          if (labels.kind === kind && labels.device === device) metric.remove(labels);
        }
      }
    } catch (err) {
      this.log.warn({ err: String(err) }, 'metrics: could not remove the series of a removed device');
    }
  }

  /** The text exposition: this gateway's metrics, then the process metrics. */
  async scrape(): Promise<string> {
    for (const [what, refresh] of this.refreshers) {
      try {
        refresh();
      } catch (err) {
        this.log.warn({ err: String(err), what }, 'metrics: could not read a source at scrape time');
      }
    }
    const own = await this.registry.metrics();
    const process = await processMetricsRegistry().metrics();
    return `${own}\n${process}`;
  }

  /** The /status.json body; undefined when the gateway gave no identity or recent activity. */
  statusDocument(): GatewayStatusDocument | undefined {
    const { recent, version, startedAt } = this.sources;
    if (!this.sources.identity || !recent) return undefined;
    return gatewayStatus({ version, startedAt, identity: () => this.sources.identity!(), devices: () => this.sources.devices(), recent });
  }

  healthReport(): HealthReport {
    let verdict: HealthVerdict;
    try {
      verdict = this.health.verdict();
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      verdict = { healthy: false, reasons: [`health check failed: ${message}`], checks: { event_loop: { ok: false, max_lag_ms: -1, threshold_ms: this.settings.max_event_loop_lag_ms }, database: { ok: false, checked_at: Date.now(), error: message } } };
    }
    return {
      status: verdict.healthy ? 'ok' : 'unhealthy',
      version: this.sources.version,
      uptime_s: Math.max(0, Math.round((Date.now() - this.sources.startedAt) / 1000)),
      ...verdict,
    };
  }

  /** Gauges and counters whose values live elsewhere, read by `scrape()`; each named for the log if its source fails. */
  private scrapeTimeMetrics(registers: Registry[]): [string, () => void][] {
    const { sources } = this;
    const gauge = (name: string, help: string, labelNames: string[] = []) => new Gauge({ name, help, labelNames, registers });
    const counter = (name: string, help: string, labelNames: string[] = []) => new Counter({ name, help, labelNames, registers });
    /** A counter kept elsewhere as a running total: reset and set to the total at each scrape. */
    const setTotal = (metric: Counter, value: number, labels: Record<string, string> = {}) => {
      if (Number.isFinite(value) && value >= 0) metric.inc(labels, value);
    };

    const buildInfo = gauge('gatehouse_build_info', 'Always 1; the labels say which gatehouse and Node.js run.', ['version', 'node_version']);
    const startTime = gauge('gatehouse_start_time_seconds', 'When the gateway started, seconds since the epoch.');
    const uptime = gauge('gatehouse_uptime_seconds', 'Seconds since the gateway started.');
    const online = gauge('gatehouse_device_online', '1 when the device answers (availability online), 0 when offline.', ['kind', 'device']);
    const clients = gauge('gatehouse_broker_clients', 'MQTT clients connected to the embedded broker.');
    const received = counter('gatehouse_broker_messages_received_total', 'PUBLISH packets from MQTT clients routed by the embedded broker.');
    const published = counter('gatehouse_broker_messages_published_total', 'Messages the gateway itself published on the embedded broker (results, state, availability, events).');
    const security = counter('gatehouse_security_events_total', 'Security counters of the broker (login failures, lockouts, connections refused, ...), by type.', ['type']);
    const sessionsExpired = counter('gatehouse_broker_sessions_expired_total', 'Persistent MQTT sessions removed with their queued messages because their client stayed away longer than broker.limits.session_expiry_s.');
    const securityNow = gauge('gatehouse_security_current', 'Security figures of the broker that can go down (open_connections, active_lockouts), by type.', ['type']);
    const outboxMessages = gauge('gatehouse_outbox_messages', 'Messages waiting in the cloud outbox (SQLite) or about to be stored.');
    const outboxBytes = gauge('gatehouse_outbox_bytes', 'Bytes (topics and payloads) in the cloud outbox.');
    const outboxOldest = gauge('gatehouse_outbox_oldest_age_seconds', 'Age of the oldest message in the outbox; 0 when empty.');
    const outboxInFlight = gauge('gatehouse_outbox_in_flight', 'Outbox messages sent to the cloud and not yet acknowledged.');
    const outboxDropped = counter('gatehouse_outbox_dropped_total', 'Messages dropped because the outbox was full, by class (kept in the database across restarts).', ['class']);
    const outboxUnstored = counter('gatehouse_outbox_unstored_total', 'Messages lost because the outbox could not be written.');
    const uplinkConnected = gauge('gatehouse_uplink_connected', '1 while the cloud link is up, else 0 (also when the uplink is disabled).');
    const uplinkState = gauge('gatehouse_uplink_state', '1 for the cloud link\'s current state, 0 for the others.', ['state']);
    const uplinkConnections = counter('gatehouse_uplink_connections_total', 'Connections made to the cloud broker since start.');
    const lagMax = gauge('gatehouse_event_loop_lag_recent_max_seconds', 'Longest event-loop block in the last 5 to 10 s (what /healthz judges).');
    const dbWritable = gauge('gatehouse_database_writable', '1 when the last write probe into the database succeeded.');
    const healthy = gauge('gatehouse_healthy', '1 when /healthz would answer 200.');

    return [
      ['build info', () => {
        buildInfo.reset();
        buildInfo.set({ version: sources.version, node_version: process.versions.node }, 1);
        startTime.set(sources.startedAt / 1000);
        uptime.set(Math.max(0, (Date.now() - sources.startedAt) / 1000));
      }],
      ['devices', () => {
        online.reset();
        for (const d of sources.devices()) online.set({ kind: d.kind.name, device: d.id }, d.availability === 'online' ? 1 : 0);
      }],
      ['broker', () => {
        const broker = sources.broker();
        clients.set(broker?.connectedClients() ?? 0);
        received.reset();
        published.reset();
        const counts = broker?.messageCounts?.();
        setTotal(received, counts?.received ?? 0);
        setTotal(published, counts?.published ?? 0);
        security.reset();
        securityNow.reset();
        sessionsExpired.reset();
        setTotal(sessionsExpired, broker?.sessionsExpired?.() ?? 0);
        for (const [type, value] of broker?.securityCounters ? flattenCounters(broker.securityCounters()) : []) {
          if (isCurrentValue(type)) securityNow.set({ type }, value);
          else setTotal(security, value, { type });
        }
      }],
      ['uplink', () => {
        const fields = sources.uplink();
        for (const metric of [outboxDropped, outboxUnstored, uplinkConnections]) metric.reset();
        const outbox = fields?.outbox;
        outboxMessages.set(outbox?.depth ?? 0);
        outboxBytes.set(outbox?.bytes ?? 0);
        outboxOldest.set(outbox?.oldest_age_s ?? 0);
        outboxInFlight.set(outbox?.in_flight ?? 0);
        for (const [cls, value] of Object.entries(outbox?.dropped_by_class ?? {})) setTotal(outboxDropped, value, { class: cls });
        setTotal(outboxUnstored, outbox?.unstored ?? 0);
        setTotal(uplinkConnections, fields?.uplink.connection ?? 0);
        const state = fields ? fields.uplink.state : 'disabled';
        uplinkConnected.set(state === 'up' ? 1 : 0);
        uplinkState.reset();
        for (const s of new Set<string>([...UPLINK_STATES, state])) uplinkState.set({ state: s }, s === state ? 1 : 0);
      }],
      ['health', () => {
        const report = this.healthReport();
        lagMax.set(Math.max(0, report.checks.event_loop.max_lag_ms) / 1000);
        dbWritable.set(report.checks.database.ok ? 1 : 0);
        healthy.set(report.healthy ? 1 : 0);
      }],
    ];
  }
}
