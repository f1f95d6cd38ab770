// The composition root: builds the parts, wires them over the event bus, starts them in order and
// stops them in reverse. It decides nothing itself. Start order matters for safety: devices are
// driven to their safe state before the broker accepts commands and before the gateway announces
// itself online.

import type { Broker } from './broker/broker.js';
import { CommandPipeline } from './commands/pipeline.js';
import { DeviceCommissioning } from './commissioning/device-commissioning.js';
import type { GatehouseConfig, LoadResult } from './config.js';
import type { Device } from './devices/device.js';
import { EventBus, type Extension } from './event-bus.js';
import { ConsoleExtension } from './extensions/console.js';
import { DevicePublisher } from './extensions/device-publisher.js';
import { GatewayStatePublisher } from './extensions/gateway-state.js';
import { HomeAssistantExtension } from './extensions/homeassistant.js';
import { HousekeepingExtension, JournalExtension } from './extensions/journal.js';
import { LinksExtension } from './extensions/links.js';
import { MetricsExtension } from './extensions/metrics.js';
import { RecentActivityExtension } from './extensions/recent-activity.js';
import { SnapshotsExtension } from './extensions/snapshots.js';
import { createBroker } from './gateway/create-broker.js';
import { createUplink } from './gateway/create-uplink.js';
import { commandPolicy } from './gateway/command-policy.js';
import { DeviceRegistry } from './gateway/device-registry.js';
import type { GatewayEvents } from './gateway/events.js';
import { GatewayCommands } from './gateway/gateway-commands.js';
import { Outlet } from './gateway/outlet.js';
import { applyReload } from './gateway/reload-coordinator.js';
import type { Logger } from './log.js';
import { GatewayMetrics } from './metrics/metrics.js';
import { RecentActivity } from './metrics/recent-activity.js';
import type { ReloadPlan } from './service/reload.js';
import { reloadConfiguration } from './service/reload-config.js';
import type { StatusFigures } from './service/status-line.js';
import { type GatewayStore, openGatewayStore } from './store/gateway-store.js';
import { topics } from './topics.js';
import { builtinRegistries, type Registries } from './registries.js';
import { Uplink } from './uplink/uplink.js';
import { VERSION } from './version.js';

export interface GatewayOptions {
  /** Re-reads and validates the config files (the `reload` command); without it `reload` says there is nothing to re-read. */
  readConfig?: () => LoadResult;
  /** The config files the running config came from, for the console's config view. */
  configFiles?: string[];
}

/** What exists only while the gateway runs (from start() on). */
interface Running {
  store: GatewayStore;
  pipeline: CommandPipeline;
  /** Read now and pulse for the console (src/commissioning/). */
  commissioning: DeviceCommissioning;
  outlet: Outlet;
  state: GatewayStatePublisher;
  metrics: MetricsExtension;
  console: ConsoleExtension;
  /** Hear devices from their first report to their last: stopped after the devices. */
  listeners: Extension[];
  /** Act on their own (timers, links, a listener socket): stopped before the commands finish. */
  actors: Extension[];
}

export class Gateway {
  private readonly bus: EventBus<GatewayEvents>;
  private readonly devices: DeviceRegistry;
  private broker: Broker | undefined;
  private uplink: Uplink | undefined;
  private running: Running | undefined;
  /** The reload under way, if any: reloads run one at a time, and a stop waits for the current one. */
  private reloading: Promise<unknown> = Promise.resolve();
  private phase: 'starting' | 'up' | 'stopping' = 'starting';

  constructor(
    /** Replaced by reload(); its restart-only keys keep their values. */
    private config: Readonly<GatehouseConfig>,
    private readonly log: Logger,
    private readonly registries: Registries = builtinRegistries,
    private readonly options: GatewayOptions = {},
  ) {
    this.bus = new EventBus<GatewayEvents>(log.child({ component: 'events' }));
    this.devices = new DeviceRegistry(registries, this.bus, log);
  }

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
    return this.running?.metrics.metrics.port;
  }

  /** http(s)://host:port/ of the technician console; undefined when it is off. */
  get consoleUrl(): string | undefined {
    return this.running?.console.url;
  }

  /** Commissioning of configured devices (read now, pulse an output), for the console; undefined until started. */
  get commissioning(): DeviceCommissioning | undefined {
    return this.running?.commissioning;
  }

  async start(): Promise<void> {
    const { config, log, bus, devices } = this;
    const startedAt = Date.now();
    const store = openGatewayStore(config.data_dir);
    const { db, ledger, journal, commits, syncs, session } = store;
    const uplink = (this.uplink = config.uplink.enabled
      ? createUplink({ config, db, syncs, session, kinds: this.registries.kinds, retainedPicture: () => this.running?.state.picture() ?? [], submit: (input) => this.running?.pipeline.submit(input), log })
      : undefined);
    log.info({ site: config.site, gateway: config.gateway_id, session, version: VERSION, data_dir: config.data_dir }, 'gatehouse starting');

    devices.build(config);
    const outlet = new Outlet(uplink, log.child({ component: 'outlet' }));
    const recent = new RecentActivity();
    // The gateway's own commands (status, journal, reload, ...): one more target of the pipeline.
    const own = new GatewayCommands({
      config: () => this.config,
      devices,
      gatewayState: () => this.gatewayState(),
      session,
      startedAt,
      recent,
      journal,
      uplink,
      reload: () => (this.options.readConfig ? reloadConfiguration(this, this.options.readConfig, log, 'reload command') : Promise.resolve({ applied: false, error: 'this gateway runs without a config file (the demo, or a test): nothing to re-read' })),
      announce: (device) => this.announce(device),
    });
    const pipeline = new CommandPipeline({
      findDevice: (kind, id) => own.find(kind, id),
      describeDevice: (id) => own.describe(id),
      ledger,
      journal,
      commit: commits.run,
      publishResult: (result) => bus.emit('command.result', result),
      policy: commandPolicy(config),
      log: log.child({ component: 'commands' }),
    });
    const state = new GatewayStatePublisher(bus, outlet, devices, uplink, { site: config.site, gatewayId: config.gateway_id, session, startedAt });
    const metricsSources = {
      version: VERSION,
      startedAt,
      devices: () => devices.values(),
      broker: () => this.broker,
      uplink: () => uplink?.stateFields(),
      database: () => db,
      identity: () => ({ site: this.config.site, gateway_id: this.config.gateway_id, session }),
      recent,
    };
    const metrics = new MetricsExtension(bus, new GatewayMetrics(config.metrics, metricsSources, log.child({ component: 'metrics' })));
    const links = new LinksExtension(bus, config.links, (input) => pipeline.submit(input), log.child({ component: 'links' }));
    const snapshots = new SnapshotsExtension(bus, outlet, config, (device, type, details) => devices.event(device, type, details), log.child({ component: 'snapshots' }));
    const journalLog = log.child({ component: 'journal' });
    const commissioning = new DeviceCommissioning({ devices, pipeline, journal, commit: commits.run, log: log.child({ component: 'commissioning' }) });
    const technicianConsole = new ConsoleExtension({ bus, devices, submit: (input) => pipeline.submit(input), broker: () => this.broker, journal, commit: commits.run, config: () => this.config, gatewayState: () => this.gatewayState(), commissioning: () => this.running?.commissioning, configFiles: this.options.configFiles ?? [], log: log.child({ component: 'console' }) });
    const running: Running = (this.running = { store, pipeline, commissioning, outlet, state, metrics, console: technicianConsole, listeners: [], actors: [] });

    // What hears devices from their first report on: publishing (held until the broker listens), the journal, status' ring, snapshots.
    running.listeners.push(new DevicePublisher(bus, outlet, config.site, log), new JournalExtension({ bus, journal, commit: commits.run, log: journalLog }), new RecentActivityExtension(bus, recent), snapshots);
    for (const extension of running.listeners) await extension.start();
    // Safe state before anything can command a device: each device's first attempt completes here.
    await devices.start();

    const broker = (this.broker = createBroker({ config, bus, pipeline, db, commits, uplink, log }));
    await broker.start();
    await this.startActors(running, [metrics, state, technicianConsole]);
    await outlet.open(broker);
    this.phase = 'up';
    for (const device of devices.values()) await this.announce(device);
    // Before the first pruning: an interrupted command gets its result however old its id is.
    const interrupted = await pipeline.recoverInterrupted();
    if (interrupted.length > 0) log.warn({ count: interrupted.length }, 'answered commands interrupted by the previous stop');
    // Links start once every device has had its safe state: events of the start-up are published, not linked.
    await this.startActors(running, [links, new HousekeepingExtension({ bus, journal, ledger, commit: commits.run, config: () => this.config, log: journalLog })]);
    if (config.homeassistant.enabled) await this.startActors(running, [new HomeAssistantExtension({ bus, config: () => this.config, kinds: this.registries.kinds, publishLocal: (topic, payload) => broker.publish(topic, payload, { qos: 1, retain: true }), version: VERSION, log: log.child({ component: 'homeassistant' }) })]);
    await state.publish();
    await outlet.publish(topics.gatewayAvailability(config.site, config.gateway_id), 'online', true);
    // After the local announcement: the birth on the cloud link reads the same current picture.
    await uplink?.start();
    log.info({ port: broker.port, devices: devices.size, online: devices.onlineCount() }, 'gatehouse online');
  }

  /** `progress` hears each step (for the service manager's status line). */
  async stop(progress: (step: string) => void = () => undefined): Promise<void> {
    this.phase = 'stopping';
    await this.reloading;
    const running = this.running;
    const { site, gateway_id } = this.config;
    // Metrics, the state timer, links and housekeeping end first: no new link runs, no new prune batches.
    for (const actor of [...(running?.actors ?? [])].reverse()) await actor.stop();
    // New commands are answered `offline`; accepted ones finish (each within its timeout).
    progress('finishing commands');
    await running?.pipeline.close();
    progress('stopping devices');
    await this.devices.stopDevices();
    this.uplink?.send(topics.gatewayAvailability(site, gateway_id), 'offline', true);
    if (this.uplink) progress('flushing outbox');
    await this.uplink?.stop();
    if (this.broker) {
      await running?.outlet.lastWord(topics.gatewayAvailability(site, gateway_id), 'offline', true);
      await this.broker.stop();
    }
    await this.devices.stopTransports();
    for (const listener of [...(running?.listeners ?? [])].reverse()) await listener.stop();
    progress('closing the database');
    await running?.store.close();
    this.log.info({}, 'gatehouse stopped');
  }

  /** Devices, clients and outbox at a glance: the service's STATUS= line. */
  statusFigures(): StatusFigures {
    return {
      devices: { total: this.devices.size, online: this.devices.onlineCount() },
      clients: this.broker?.connectedClients() ?? 0,
      outbox: this.uplink ? this.uplink.stateFields().outbox.depth : null,
    };
  }

  /** The gateway's state as site/{site}/gateway/{id}/state carries it now. */
  gatewayState(): Record<string, unknown> {
    return this.running?.state.state() ?? {};
  }

  /** Publishes the gateway state now (it also goes out every 30 s and when a device's availability changes). */
  publishGatewayState(): Promise<void> {
    return this.running?.state.publish() ?? Promise.resolve();
  }

  /** Applies a new, validated config while running (SIGHUP); see src/gateway/reload-coordinator.ts. Reloads run one at a time. */
  reload(next: Readonly<GatehouseConfig>): Promise<ReloadPlan> {
    const run = this.reloading.then(async () => {
      const running = this.running;
      if (this.phase !== 'up' || !this.broker || !running) throw new Error('gatehouse is not running');
      const previous = this.config;
      const plan = await applyReload(
        {
          bus: this.bus,
          devices: this.devices,
          broker: this.broker,
          pipeline: running.pipeline,
          announce: (device) => this.announce(device),
          publishGatewayState: () => running.state.publish(),
          adopt: (config) => (this.config = config),
          log: this.log,
        },
        previous,
        next,
      );
      return plan;
    });
    this.reloading = run.catch(() => undefined);
    return run;
  }

  /** Tells the extensions (the console's config view) that a reload did not apply, and why. */
  reloadFailed(errors: string[]): void {
    this.bus.emit('config.reloadFailed', { errors });
  }

  private async startActors(running: Running, actors: Extension[]): Promise<void> {
    for (const actor of actors) {
      await actor.start();
      running.actors.push(actor);
    }
  }

  /** A device's current state and availability, retained. */
  private async announce(device: Device): Promise<void> {
    const { site } = this.config;
    const outlet = this.running!.outlet;
    await outlet.publish(topics.state(site, device.kind.name, device.id), JSON.stringify(device.state()), true);
    await outlet.publish(topics.availability(site, device.kind.name, device.id), device.availability, true);
  }
}
