// The transports and devices of the running config, built from the registries it is handed, and the
// one place that knows which device instance is current under an id.
import type { DeviceConfig, GatehouseConfig } from '../config.js';
import { Device, type DeviceSink } from '../devices/device.js';
import type { EventBus } from '../event-bus.js';
import type { Logger } from '../log.js';
import { entryOf, type Registries } from '../registries.js';
import type { Transport, TransportConfig } from '../transport/registry.js';
import type { GatewayEvents } from './events.js';

/** How long start waits for links to connect before trying safe states anyway (devices stay offline until reached). */
export const TRANSPORT_CONNECT_GRACE_MS = 3000;

export function waitUntilConnected(transport: Transport, graceMs = TRANSPORT_CONNECT_GRACE_MS): Promise<void> {
  if (transport.connected) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, graceMs);
    transport.on('up', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

export class DeviceRegistry {
  readonly transports = new Map<string, Transport>();
  private readonly devices = new Map<string, Device>();
  /** Every device instance reports through this sink: onto the bus, if it is still the current one. */
  private readonly sink: DeviceSink;

  constructor(
    private readonly registries: Registries,
    bus: EventBus<GatewayEvents>,
    private readonly log: Logger,
  ) {
    this.sink = this.currentDevicesOnly({
      state: (device, state) => bus.emit('device.state', { device, state }),
      event: (device, type, details) => bus.emit('device.event', { device, type, details, at: typeof details.at === 'number' ? details.at : Date.now() }),
      availability: (device, availability) => bus.emit('device.availability', { device, availability }),
      pollFailed: (device, code) => bus.emit('device.pollFailed', { device, code }),
      image: (device, bytes, meta) => bus.emit('device.image', { device, bytes, at: meta.at }),
    });
  }

  /** Builds every transport and device of `config` (inert until started). */
  build(config: Readonly<GatehouseConfig>): void {
    for (const [name, cfg] of Object.entries(config.transports)) this.transports.set(name, this.buildTransport(name, cfg));
    for (const cfg of config.devices) this.devices.set(cfg.id, this.buildDevice(cfg));
  }

  /** A device event reported from outside the device (a snapshot's announcement), through the same guard. */
  event(device: Device, type: string, details: Record<string, unknown>): void {
    this.sink.event(device, type, details);
  }

  get(id: string): Device | undefined {
    return this.devices.get(id);
  }

  /** The device `id` if it is of `kind`: what a command's topic names. */
  find(kind: string, id: string): Device | undefined {
    const device = this.devices.get(id);
    return device && device.kind.name === kind ? device : undefined;
  }

  values(): IterableIterator<Device> {
    return this.devices.values();
  }

  get size(): number {
    return this.devices.size;
  }

  onlineCount(): number {
    let online = 0;
    for (const device of this.devices.values()) if (device.availability === 'online') online++;
    return online;
  }

  /** Starts every transport, waits a grace period for them, then drives every device to its safe state. */
  async start(): Promise<void> {
    for (const transport of this.transports.values()) await transport.start();
    await Promise.all([...this.transports.values()].map((t) => waitUntilConnected(t)));
    await Promise.all([...this.devices.values()].map((d) => d.start()));
  }

  /** Devices first: a gate released mid-pulse is relocked while its transport is still up. */
  async stopDevices(): Promise<void> {
    await Promise.all([...this.devices.values()].map((d) => d.stop()));
  }

  async stopTransports(): Promise<void> {
    for (const transport of this.transports.values()) await transport.stop();
  }

  delete(id: string): void {
    this.devices.delete(id);
  }

  deleteTransport(name: string): void {
    this.transports.delete(name);
  }

  /** Builds and registers a transport under `name` (replacing one), not started. */
  addTransport(name: string, cfg: TransportConfig): Transport {
    const transport = this.buildTransport(name, cfg);
    this.transports.set(name, transport);
    return transport;
  }

  /** Builds and registers a device (replacing one under its id), not started. */
  add(cfg: DeviceConfig): Device {
    const device = this.buildDevice(cfg);
    this.devices.set(cfg.id, device);
    return device;
  }

  private buildTransport(name: string, cfg: TransportConfig): Transport {
    return this.registries.transports[cfg.type].create(name, cfg, this.log.child({ transport: name }));
  }

  private buildDevice(cfg: DeviceConfig): Device {
    const deviceLog = this.log.child({ device: cfg.id });
    let device: Device | undefined;
    const driver = entryOf(this.registries.drivers, cfg.driver)!.create({
      deviceId: cfg.id,
      kind: cfg.kind,
      options: cfg.options,
      transport: this.transports.get(cfg.transport)!.access,
      log: deviceLog,
      emitEvent: (type, details) => {
        if (device !== undefined) this.sink.event(device, type, details);
      },
    });
    device = new Device(cfg, entryOf(this.registries.kinds, cfg.kind)!, driver, this.sink, deviceLog);
    return device;
  }

  /**
   * A sink that passes on news only from the device instance currently configured under its id:
   * an instance replaced or removed by a reload (still relocking, or a driver still listening on a
   * shared serial line) must not publish over its successor or revive a removed device's topics.
   */
  private currentDevicesOnly(sink: Required<DeviceSink>): DeviceSink {
    const guarded: Record<string, unknown> = {};
    for (const [name, method] of Object.entries(sink) as [string, (device: Device, ...rest: unknown[]) => void][]) {
      guarded[name] = (device: Device, ...rest: unknown[]) => {
        if (this.devices.get(device.id) === device) method(device, ...rest);
      };
    }
    return guarded as unknown as DeviceSink;
  }
}
