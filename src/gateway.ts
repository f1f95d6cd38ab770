// The composition root: builds the parts, starts them in order, stops them in reverse.
// Start order matters for safety: devices are driven to their safe state before the broker
// accepts commands and before the gateway announces itself online.

import { join } from 'node:path';
import { Broker, type IncomingCommand, type SecurityEvent } from './broker/broker.js';
import { brokerLimitsFromConfig, loginLimitsFromConfig } from './broker/client-limits.js';
import { CommandPipeline } from './commands/pipeline.js';
import type { CommandResult } from './commands/result.js';
import type { Journal, JournalEntry } from './commands/journal.js';
import type { CommandLedger } from './commands/ledger.js';
import type { DeviceConfig, GatehouseConfig } from './config.js';
import { Device, type Availability, type DeviceSink } from './devices/device.js';
import { SnapshotPublisher } from './devices/snapshot-publisher.js';
import { LinkRunner } from './links/link-runner.js';
import { SnapshotFiles } from './store/snapshot-files.js';
import { commandCatalog, getKind } from './devices/kinds/index.js';
import { getDriver } from '../drivers/index.js';
import type { Logger } from './log.js';
import { GatewayMetrics } from './metrics/metrics.js';
import { planReload, type ReloadPlan } from './service/reload.js';
import type { StatusFigures } from './service/status-line.js';
import { openDatabase, type SqliteDatabase } from './store/database.js';
import { nextSession } from './store/gateway-meta.js';
import { GroupCommit } from './store/group-commit.js';
import { SqliteJournal } from './store/sqlite-journal.js';
import { SqliteLedger } from './store/sqlite-ledger.js';
import { SqliteBrokerState } from './store/sqlite-broker-state.js';
import { SqliteOutbox } from './store/sqlite-outbox.js';
import { classifyTopic, commandFilters, topics } from './topics.js';
import { builtinTransports, type Transport, type TransportConfig } from './transport/registry.js';
import { Uplink, type CloudCommand, type LinkMessage } from './uplink/uplink.js';
import { VERSION } from './version.js';

const GATEWAY_STATE_INTERVAL_MS = 30_000;
const HOUSEKEEPING_INTERVAL_MS = 3_600_000;
const DAY_MS = 86_400_000;
/** How long start waits for links to connect before trying safe states anyway (devices stay offline until reached). */
const TRANSPORT_CONNECT_GRACE_MS = 3000;

/** The command pipeline's policy from the `commands` section. */
function commandPolicy(config: Readonly<GatehouseConfig>): { maxAgeMs: number; clockSkewMs: number; queueLimit: number } {
  return { maxAgeMs: config.commands.max_age_ms, clockSkewMs: config.commands.clock_skew_ms, queueLimit: config.commands.queue_limit };
}

function waitUntilConnected(transport: Transport, graceMs: number): Promise<void> {
  if (transport.connected) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, graceMs);
    transport.on('up', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

interface PendingPublish {
  topic: string;
  payload: string | Buffer;
  retain: boolean;
}

export class Gateway {
  private db: SqliteDatabase | undefined;
  private ledger: CommandLedger | undefined;
  private journal: Journal | undefined;
  private commits: GroupCommit | undefined;
  private broker: Broker | undefined;
  private pipeline: CommandPipeline | undefined;
  private uplink: Uplink | undefined;
  private metrics: GatewayMetrics | undefined;
  private links: LinkRunner | undefined;
  private snapshotFiles: SnapshotFiles | undefined;
  private snapshots: SnapshotPublisher<Device> | undefined;
  private readonly transports = new Map<string, Transport>();
  private readonly devices = new Map<string, Device>();
  /** Every device instance is built with this sink (see currentDevicesOnly). */
  private sink: DeviceSink | undefined;
  /** The pipeline's policy object; a reload changes it in place. */
  private policy: ReturnType<typeof commandPolicy> | undefined;
  /** The reload under way, if any: reloads run one at a time, and a stop waits for the current one. */
  private reloading: Promise<unknown> = Promise.resolve();
  private stopping = false;
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly early: PendingPublish[] = [];
  private session = 0;
  private startedAt = 0;
  /** Publishes wait in `early` while starting, flow while up, and are dropped once the broker is gone. */
  private phase: 'starting' | 'up' | 'down' = 'starting';

  constructor(
    /** Replaced by reload(); its restart-only keys keep their values. */
    private config: Readonly<GatehouseConfig>,
    private readonly log: Logger,
  ) {}

  get brokerPort(): number {
    if (!this.broker) throw new Error('gateway not started');
    return this.broker.port;
  }

  /** Bound port of each enabled broker listener (tcp, tls, ws); undefined for a disabled one. */
  get brokerPorts(): Record<'tcp' | 'tls' | 'ws', number | undefined> {
    if (!this.broker) throw new Error('gateway not started');
    return this.broker.ports();
  }

  /** The bound /metrics and /healthz port; undefined when metrics are disabled or could not listen. */
  get metricsPort(): number | undefined {
    return this.metrics?.port;
  }

  async start(): Promise<void> {
    const { config, log } = this;
    this.startedAt = Date.now();
    this.db = openDatabase(config.data_dir);
    this.ledger = new SqliteLedger(this.db);
    this.journal = new SqliteJournal(this.db);
    this.commits = new GroupCommit(this.db);
    this.session = nextSession(this.db);
    if (config.uplink.enabled) this.uplink = this.createUplink(this.db);
    log.info({ site: config.site, gateway: config.gateway_id, session: this.session, version: VERSION, data_dir: config.data_dir }, 'gatehouse starting');

    for (const [name, cfg] of Object.entries(config.transports)) this.transports.set(name, this.buildTransport(name, cfg));
    const sink = (this.sink = this.currentDevicesOnly(this.deviceSink()));
    for (const cfg of config.devices) this.devices.set(cfg.id, this.buildDevice(cfg, sink));

    this.pipeline = new CommandPipeline({
      findDevice: (kind, id) => {
        const device = this.devices.get(id);
        return device && device.kind.name === kind ? device : undefined;
      },
      describeDevice: (id) => this.devices.get(id)?.kind.name,
      ledger: this.ledger,
      journal: this.journal,
      commit: this.commits.run,
      publishResult: (result) => this.publishResult(result),
      policy: (this.policy = commandPolicy(config)),
      log: log.child({ component: 'commands' }),
    });
    this.links = this.buildLinks(config);
    this.snapshotFiles = new SnapshotFiles({ dir: join(config.data_dir, 'snapshots'), keep: config.snapshots.keep, maxBytes: config.snapshots.max_bytes, log: log.child({ component: 'snapshots' }) });
    this.snapshots = new SnapshotPublisher<Device>({
      site: config.site,
      dataDir: config.data_dir,
      files: this.snapshotFiles,
      publish: (topic, payload, retain) => void this.publish(topic, payload, retain),
      event: (device, type, details) => sink.event(device, type, details),
    });
    await this.snapshotFiles.start();

    for (const transport of this.transports.values()) await transport.start();
    await Promise.all([...this.transports.values()].map((t) => waitUntilConnected(t, TRANSPORT_CONNECT_GRACE_MS)));
    // Safe state before anything can command a device: each device's first attempt completes here.
    await Promise.all([...this.devices.values()].map((d) => d.start()));

    this.broker = new Broker(
      {
        host: config.broker.host,
        port: config.broker.port,
        anonymous: { ...config.broker.anonymous },
        users: config.users.map((u) => ({ ...u })),
        limits: brokerLimitsFromConfig(config.broker.limits),
        login: loginLimitsFromConfig(config.broker.login),
        ...(config.broker.persistence === 'sqlite' ? { state: new SqliteBrokerState(this.db, this.commits.run, log.child({ component: 'broker-state' })) } : {}),
        listeners: {
          tcp: { enabled: config.broker.tcp_enabled },
          tls: { enabled: config.broker.tls.enabled, host: config.broker.tls.host, port: config.broker.tls.port },
          ws: { ...config.broker.ws },
          certificates: {
            cert: config.broker.tls.cert,
            key: config.broker.tls.key,
            ca: config.broker.tls.ca || undefined,
            clientCertificates: config.broker.tls.client_certificates,
            identityFrom: config.broker.tls.identity_from,
          },
        },
      },
      {
        classify: (topic) => classifyTopic(config.site, topic),
        onCommand: (cmd) => this.onLocalCommand(cmd),
        onSecurityEvent: (e) => this.onSecurityEvent(e),
        ...(this.uplink ? { onPublished: (topic: string, payload: Buffer, retain: boolean) => this.uplink?.forward(topic, payload, retain) } : {}),
      },
      log.child({ component: 'broker' }),
    );
    await this.broker.start();
    // Never throws: a metrics port that cannot be bound is logged and the gateway runs on.
    this.metrics = new GatewayMetrics(
      config.metrics,
      { version: VERSION, startedAt: this.startedAt, devices: () => this.devices.values(), broker: () => this.broker, uplink: () => this.uplink?.stateFields(), database: () => this.db },
      log.child({ component: 'metrics' }),
    );
    await this.metrics.start();
    this.phase = 'up';

    for (const pending of this.early.splice(0)) await this.publish(pending.topic, pending.payload, pending.retain);
    for (const device of this.devices.values()) {
      await this.publish(topics.state(config.site, device.kind.name, device.id), JSON.stringify(device.state()), true);
      await this.publish(topics.availability(config.site, device.kind.name, device.id), device.availability, true);
    }
    // Before the first pruning: an interrupted command gets its result however old its id is.
    const interrupted = await this.pipeline.recoverInterrupted();
    if (interrupted.length > 0) log.warn({ count: interrupted.length }, 'answered commands interrupted by the previous stop');
    // Links start once every device has had its safe state: events of the start-up are published, not linked.
    this.links.start();
    this.housekeeping();
    await this.publishGatewayState();
    await this.publish(topics.gatewayAvailability(config.site, config.gateway_id), 'online', true);
    this.timers.push(setInterval(() => void this.publishGatewayState(), GATEWAY_STATE_INTERVAL_MS));
    this.timers.push(setInterval(() => this.housekeeping(), HOUSEKEEPING_INTERVAL_MS));
    // After the local announcement: the birth on the cloud link reads the same current picture.
    await this.uplink?.start();
    const online = [...this.devices.values()].filter((d) => d.availability === 'online').length;
    log.info({ port: this.broker.port, devices: this.devices.size, online }, 'gatehouse online');
  }

  /** `progress` hears each step (for the service manager's status line). */
  async stop(progress: (step: string) => void = () => undefined): Promise<void> {
    this.stopping = true;
    await this.reloading;
    await this.metrics?.stop();
    for (const timer of this.timers.splice(0)) clearInterval(timer);
    // No new link runs; the steps under way end first (later steps are skipped).
    await this.links?.stop();
    // New commands are answered `offline`; accepted ones finish (each within its timeout).
    progress('finishing commands');
    await this.pipeline?.close();
    progress('stopping devices');
    // Devices first: a gate released mid-pulse is relocked while its transport is still up.
    await Promise.all([...this.devices.values()].map((d) => d.stop()));
    await this.snapshotFiles?.stop();
    this.uplink?.send(topics.gatewayAvailability(this.config.site, this.config.gateway_id), 'offline', true);
    if (this.uplink) progress('flushing outbox');
    await this.uplink?.stop();
    if (this.broker) {
      await this.broker.publish(topics.gatewayAvailability(this.config.site, this.config.gateway_id), 'offline', { qos: 1, retain: true }).catch(() => undefined);
      this.phase = 'down';
      await this.broker.stop();
    }
    for (const transport of this.transports.values()) await transport.stop();
    progress('closing the database');
    this.commits?.flush();
    this.db?.close();
    this.log.info({}, 'gatehouse stopped');
  }

  /** Devices, clients and outbox at a glance: the service's STATUS= line. */
  statusFigures(): StatusFigures {
    const devices = [...this.devices.values()];
    return {
      devices: { total: devices.length, online: devices.filter((d) => d.availability === 'online').length },
      clients: this.broker?.connectedClients() ?? 0,
      outbox: this.uplink ? this.uplink.stateFields().outbox.depth : null,
    };
  }

  /**
   * Applies a new, validated config while running (SIGHUP). Devices, transports, links, users,
   * anonymous access, the commands and journal settings and the TLS files take effect; any other changed key is listed in
   * the plan's `needsRestart` and keeps its running value. Devices whose entry and transport are
   * unchanged are not touched: their queues, pulses and availability go on. Reloads run one at a time.
   */
  reload(next: Readonly<GatehouseConfig>): Promise<ReloadPlan> {
    const run = this.reloading.then(() => this.applyReload(next));
    this.reloading = run.catch(() => undefined);
    return run;
  }

  private async applyReload(next: Readonly<GatehouseConfig>): Promise<ReloadPlan> {
    if (this.phase !== 'up' || this.stopping || !this.broker) throw new Error('gatehouse is not running');
    const { log } = this;
    const previous = this.config;
    const plan = planReload(previous, next);
    const { effective } = plan;
    const outgoing = [...plan.devices.removed, ...plan.devices.changed].flatMap((id) => this.devices.get(id) ?? []);
    const retiredLinks = [...plan.transports.removed, ...plan.transports.changed].flatMap((name) => this.transports.get(name) ?? []);
    this.config = effective;

    // From here on a command for a removed device is `unknown_device`, and one for a changed device
    // meets its new instance, which answers `offline` until its safe state is applied.
    for (const id of plan.devices.removed) this.devices.delete(id);
    for (const name of plan.transports.removed) this.transports.delete(name);
    const newLinks = [...plan.transports.added, ...plan.transports.changed].map((name) => {
      const transport = this.buildTransport(name, effective.transports[name]);
      this.transports.set(name, transport);
      return transport;
    });
    const sink = (this.sink ??= this.currentDevicesOnly(this.deviceSink()));
    const incoming: Device[] = [];
    for (const id of [...plan.devices.added, ...plan.devices.changed]) {
      const cfg = effective.devices.find((d) => d.id === id)!;
      try {
        const device = this.buildDevice(cfg, sink);
        this.devices.set(id, device);
        incoming.push(device);
      } catch (err) {
        this.devices.delete(id);
        log.error({ err, device: id }, 'could not build a device from the reloaded config; it is left out');
      }
    }

    // The old instances end as at a stop (a gate released mid-pulse is relocked) while their links
    // are still up; only then do the new instances reach the same hardware.
    await Promise.allSettled(outgoing.map((d) => d.stop()));
    for (const link of retiredLinks) await link.stop().catch((err) => log.error({ err }, 'could not stop a transport'));
    for (const link of newLinks) await link.start().catch((err) => log.error({ err }, 'could not start a transport'));
    await Promise.all(newLinks.map((t) => waitUntilConnected(t, TRANSPORT_CONNECT_GRACE_MS)));
    await Promise.all(incoming.map((d) => d.start()));
    const site = effective.site;
    for (const device of incoming) {
      await this.publish(topics.state(site, device.kind.name, device.id), JSON.stringify(device.state()), true);
      await this.publish(topics.availability(site, device.kind.name, device.id), device.availability, true);
    }
    // A device that is gone, or lives on under another kind, leaves no retained topics (nor metric series) behind.
    for (const old of outgoing) {
      if (this.devices.get(old.id)?.kind.name === old.kind.name) continue;
      await this.retireDeviceTopics(old);
      await this.metrics?.deviceRemoved(old.kind.name, old.id);
    }

    // New links take over once the devices they name exist; runs of the old ones finish on their own.
    if (plan.links) {
      const retired = this.links;
      this.links = this.buildLinks(effective);
      this.links.start();
      void retired?.stop();
    }
    let access: { disconnected: number; updated: number } | undefined;
    if (plan.access) access = this.broker.updateAccess(effective.users.map((u) => ({ ...u })), { ...effective.broker.anonymous });
    if (plan.settings && this.policy) Object.assign(this.policy, commandPolicy(effective));
    // Renewed certificate files at the same paths; files that cannot be used leave the old ones in use.
    await this.broker.reloadCertificates().catch((err) => log.error({ err }, 'tls certificates not reloaded; the previous ones stay in use'));
    await this.publishGatewayState();
    log.info(
      {
        devices: { added: plan.devices.added, removed: plan.devices.removed, changed: plan.devices.changed },
        transports: plan.transports,
        ...(plan.links ? { links: effective.links.length } : {}),
        ...(access ? { clients: access } : {}),
        needs_restart: plan.needsRestart,
      },
      'configuration reloaded',
    );
    return plan;
  }

  private buildLinks(config: Readonly<GatehouseConfig>): LinkRunner {
    return new LinkRunner({ links: config.links, submit: (input) => this.pipeline!.submit(input), log: this.log.child({ component: 'links' }) });
  }

  private buildTransport(name: string, cfg: TransportConfig): Transport {
    return builtinTransports[cfg.type].create(name, cfg, this.log.child({ transport: name }));
  }

  private buildDevice(cfg: DeviceConfig, sink: DeviceSink): Device {
    const deviceLog = this.log.child({ device: cfg.id });
    let device: Device | undefined;
    const driver = getDriver(cfg.driver)!.create({
      deviceId: cfg.id,
      kind: cfg.kind,
      options: cfg.options,
      transport: this.transports.get(cfg.transport)!.access,
      log: deviceLog,
      emitEvent: (type, details) => {
        if (device !== undefined) sink.event(device, type, details);
      },
    });
    device = new Device(cfg, getKind(cfg.kind)!, driver, sink, deviceLog);
    return device;
  }

  /**
   * A sink that passes on news only from the device instance currently configured under its id:
   * an instance replaced or removed by a reload (still relocking, or a driver still listening on a
   * shared serial line) must not publish over its successor or revive a removed device's topics.
   */
  private currentDevicesOnly(sink: DeviceSink): DeviceSink {
    const guarded: Record<string, unknown> = {};
    for (const [name, method] of Object.entries(sink) as [string, (device: Device, ...rest: unknown[]) => void][]) {
      guarded[name] = (device: Device, ...rest: unknown[]) => {
        if (this.devices.get(device.id) === device) method(device, ...rest);
      };
    }
    return guarded as unknown as DeviceSink;
  }

  /** `offline` for live subscribers, then the retained state and availability are deleted (MQTT-3.3.1-10: a zero-byte retained message). */
  private async retireDeviceTopics(device: Device): Promise<void> {
    const site = this.config.site;
    await this.publish(topics.availability(site, device.kind.name, device.id), 'offline', true);
    await this.publish(topics.state(site, device.kind.name, device.id), '', true);
    await this.publish(topics.availability(site, device.kind.name, device.id), '', true);
  }

  private onLocalCommand(cmd: IncomingCommand): void {
    void this.pipeline!.submit({
      kind: cmd.kind,
      device: cmd.device,
      command: cmd.command,
      payload: cmd.payload,
      source: 'local',
      authorized: cmd.authorized,
      clientId: cmd.clientId,
      username: cmd.username,
      peer: cmd.peer,
      delivery: cmd.messageId !== undefined ? { clientId: cmd.clientId, messageId: cmd.messageId, dup: cmd.dup } : undefined,
    });
  }

  private onCloudCommand(cmd: CloudCommand): void {
    void this.pipeline!.submit({
      kind: cmd.kind,
      device: cmd.device,
      command: cmd.command,
      payload: cmd.payload,
      source: 'cloud',
      authorized: cmd.authorized,
      clientId: cmd.clientId,
      delivery: cmd.delivery,
    });
  }

  private createUplink(db: SqliteDatabase): Uplink {
    const { config } = this;
    const outbox = new SqliteOutbox(db, {
      limits: { maxMessages: config.uplink.max_messages, maxBytes: config.uplink.max_bytes },
      synchronous: config.uplink.synchronous,
    });
    return new Uplink({
      config: config.uplink,
      site: config.site,
      gatewayId: config.gateway_id,
      outbox,
      commandFilters: commandFilters(config.site, commandCatalog()),
      retainedPicture: () => this.retainedPicture(),
      onCommand: (cmd) => this.onCloudCommand(cmd),
      log: this.log.child({ component: 'uplink' }),
    });
  }

  /** Gateway online and state, then every device's state and availability: the birth on the cloud link. */
  private retainedPicture(): LinkMessage[] {
    const { site, gateway_id } = this.config;
    const picture: LinkMessage[] = [
      { topic: topics.gatewayAvailability(site, gateway_id), payload: 'online', retain: true },
      { topic: topics.gatewayState(site, gateway_id), payload: JSON.stringify(this.gatewayState()), retain: true },
    ];
    for (const device of this.devices.values()) {
      picture.push({ topic: topics.state(site, device.kind.name, device.id), payload: JSON.stringify(device.state()), retain: true });
      picture.push({ topic: topics.availability(site, device.kind.name, device.id), payload: device.availability, retain: true });
    }
    return picture;
  }

  private onSecurityEvent(e: SecurityEvent): void {
    const journal = this.journal;
    if (!journal || !this.commits) return;
    const entry: JournalEntry = {
      at: Date.now(),
      type: e.type,
      client_id: e.clientId,
      username: e.username,
      peer: e.peer,
      payload: e.topic,
      status: 'error',
      code: e.type === 'session_expired' ? 'expired' : 'forbidden',
      message: e.reason,
    };
    this.commits.run(() => journal.append(entry)).catch((err) => this.log.warn({ err: String(err) }, 'could not journal a security event'));
  }

  private deviceSink(): DeviceSink {
    const site = this.config.site;
    return {
      state: (device, state) => void this.publish(topics.state(site, device.kind.name, device.id), JSON.stringify(state), true),
      event: (device, type, details) => {
        const event = { event: type, kind: device.kind.name, device: device.id, at: Date.now(), ...details };
        this.log.info({ device: device.id, event: type, ...details }, 'device event');
        void this.publish(topics.event(site, device.kind.name, device.id), JSON.stringify(event), false);
        this.links?.onEvent({ device: device.id, kind: device.kind.name, type, details, at: typeof event.at === 'number' ? event.at : Date.now() });
      },
      availability: (device, availability: Availability) => {
        this.metrics?.availabilityChanged(device.kind.name, device.id, availability);
        void this.publish(topics.availability(site, device.kind.name, device.id), availability, true);
        void this.publishGatewayState();
      },
      pollFailed: (device, code) => this.metrics?.pollFailed(device.kind.name, device.id, code),
      // A camera's snapshot: image topic and uplink, a file under data_dir/snapshots, a `snapshot` event.
      image: (device, bytes, meta) => void this.snapshots?.publish(device, bytes, { at: meta.at }),
    };
  }

  private publishResult(result: CommandResult): void {
    this.metrics?.commandResult(result);
    void this.publish(topics.result(this.config.site, result.kind, result.device), JSON.stringify(result), false);
  }

  private async publish(topic: string, payload: string | Buffer, retain: boolean): Promise<void> {
    if (this.phase === 'starting') {
      this.early.push({ topic, payload, retain });
      return;
    }
    if (this.phase === 'down' || !this.broker) return;
    this.uplink?.send(topic, payload, retain);
    try {
      await this.broker.publish(topic, payload, { qos: 1, retain });
    } catch (err) {
      this.log.error({ err, topic }, 'publish failed');
    }
  }

  private gatewayState(): Record<string, unknown> {
    const devices = [...this.devices.values()];
    const online = devices.filter((d) => d.availability === 'online').length;
    return {
      version: VERSION,
      session: this.session,
      started_at: this.startedAt,
      uptime_s: Math.round((Date.now() - this.startedAt) / 1000),
      devices: { total: devices.length, online, offline: devices.length - online },
      ...this.uplink?.stateFields(),
    };
  }

  private async publishGatewayState(): Promise<void> {
    await this.publish(topics.gatewayState(this.config.site, this.config.gateway_id), JSON.stringify(this.gatewayState()), true);
  }

  private housekeeping(): void {
    const now = Date.now();
    const forgotten = this.ledger?.prune(now - this.config.commands.dedupe_window_ms) ?? 0;
    const pruned = this.journal?.prune(now - this.config.journal.retention_days * DAY_MS) ?? 0;
    if (forgotten || pruned) this.log.info({ command_ids: forgotten, journal_entries: pruned }, 'housekeeping');
  }
}
