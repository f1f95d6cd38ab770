// The composition root: builds the parts, starts them in order, stops them in reverse.
// Start order matters for safety: devices are driven to their safe state before the broker
// accepts commands and before the gateway announces itself online.

import { Broker, type IncomingCommand, type SecurityEvent } from './broker/broker.js';
import { CommandPipeline } from './commands/pipeline.js';
import type { CommandResult } from './commands/result.js';
import type { Journal, JournalEntry } from './commands/journal.js';
import type { CommandLedger } from './commands/ledger.js';
import type { GatehouseConfig } from './config.js';
import { Device, type Availability, type DeviceSink } from './devices/device.js';
import { commandCatalog, getKind } from './devices/kinds/index.js';
import { getDriver } from '../drivers/index.js';
import type { Logger } from './log.js';
import { openDatabase, type SqliteDatabase } from './store/database.js';
import { nextSession } from './store/gateway-meta.js';
import { GroupCommit } from './store/group-commit.js';
import { SqliteJournal } from './store/sqlite-journal.js';
import { SqliteLedger } from './store/sqlite-ledger.js';
import { SqliteOutbox } from './store/sqlite-outbox.js';
import { classifyTopic, commandFilters, topics } from './topics.js';
import { createTransport, type Transport } from './transport/registry.js';
import { Uplink, type CloudCommand, type LinkMessage } from './uplink/uplink.js';
import { VERSION } from './version.js';

const GATEWAY_STATE_INTERVAL_MS = 30_000;
const HOUSEKEEPING_INTERVAL_MS = 3_600_000;
const DAY_MS = 86_400_000;
/** How long start waits for links to connect before trying safe states anyway (devices stay offline until reached). */
const TRANSPORT_CONNECT_GRACE_MS = 3000;

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
  payload: string;
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
  private readonly transports = new Map<string, Transport>();
  private readonly devices = new Map<string, Device>();
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly early: PendingPublish[] = [];
  private session = 0;
  private startedAt = 0;
  /** Publishes wait in `early` while starting, flow while up, and are dropped once the broker is gone. */
  private phase: 'starting' | 'up' | 'down' = 'starting';

  constructor(
    private readonly config: Readonly<GatehouseConfig>,
    private readonly log: Logger,
  ) {}

  get brokerPort(): number {
    if (!this.broker) throw new Error('gateway not started');
    return this.broker.port;
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

    for (const [name, cfg] of Object.entries(config.transports)) {
      this.transports.set(name, createTransport(name, cfg, log.child({ transport: name })));
    }
    const sink = this.deviceSink();
    for (const cfg of config.devices) {
      const deviceLog = log.child({ device: cfg.id });
      const kind = getKind(cfg.kind)!;
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
      device = new Device(cfg, kind, driver, sink, deviceLog);
      this.devices.set(cfg.id, device);
    }

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
      policy: {
        maxAgeMs: config.commands.max_age_ms,
        clockSkewMs: config.commands.clock_skew_ms,
        queueLimit: config.commands.queue_limit,
      },
      log: log.child({ component: 'commands' }),
    });

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
    this.phase = 'up';

    for (const pending of this.early.splice(0)) await this.publish(pending.topic, pending.payload, pending.retain);
    for (const device of this.devices.values()) {
      await this.publish(topics.state(config.site, device.kind.name, device.id), JSON.stringify(device.state()), true);
      await this.publish(topics.availability(config.site, device.kind.name, device.id), device.availability, true);
    }
    // Before the first pruning: an interrupted command gets its result however old its id is.
    const interrupted = await this.pipeline.recoverInterrupted();
    if (interrupted.length > 0) log.warn({ count: interrupted.length }, 'answered commands interrupted by the previous stop');
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

  async stop(): Promise<void> {
    for (const timer of this.timers.splice(0)) clearInterval(timer);
    // New commands are answered `offline`; accepted ones finish (each within its timeout).
    await this.pipeline?.close();
    // Devices first: a gate released mid-pulse is relocked while its transport is still up.
    await Promise.all([...this.devices.values()].map((d) => d.stop()));
    this.uplink?.send(topics.gatewayAvailability(this.config.site, this.config.gateway_id), 'offline', true);
    await this.uplink?.stop();
    if (this.broker) {
      await this.broker.publish(topics.gatewayAvailability(this.config.site, this.config.gateway_id), 'offline', { qos: 1, retain: true }).catch(() => undefined);
      this.phase = 'down';
      await this.broker.stop();
    }
    for (const transport of this.transports.values()) await transport.stop();
    this.commits?.flush();
    this.db?.close();
    this.log.info({}, 'gatehouse stopped');
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
      code: 'forbidden',
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
      },
      availability: (device, availability: Availability) => {
        void this.publish(topics.availability(site, device.kind.name, device.id), availability, true);
        void this.publishGatewayState();
      },
    };
  }

  private publishResult(result: CommandResult): void {
    void this.publish(topics.result(this.config.site, result.kind, result.device), JSON.stringify(result), false);
  }

  private async publish(topic: string, payload: string, retain: boolean): Promise<void> {
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
