// What the console shows beside a device's state: its last event, its last command result and
// (cameras) the latest snapshot's bytes, from the bus. Bounded: one of each per device, images up
// to MAX_IMAGE_BYTES. The full record is the audit journal; this is the glance.
import type { CommandResult } from '../../commands/result.js';
import type { EventBus } from '../../event-bus.js';
import type { GatewayEvents } from '../../gateway/events.js';

const MAX_IMAGE_BYTES = 8 * 1024 * 1024;

export interface LastEvent {
  type: string;
  at: number;
  details: Record<string, unknown>;
}

export interface LastResult {
  id: string;
  command: string;
  code: string;
  message?: string;
  at: number;
  source: string;
}

export interface Snapshot {
  at: number;
  bytes: Buffer;
}

export class DeviceActivity {
  private readonly events = new Map<string, LastEvent>();
  private readonly results = new Map<string, LastResult>();
  private readonly images = new Map<string, Snapshot>();
  private readonly unsubscribe: (() => void)[] = [];

  constructor(
    private readonly bus: EventBus<GatewayEvents>,
    /** A device's news changed (for the live feed). */
    private readonly changed: (deviceId: string) => void,
    private readonly resulted: (result: CommandResult) => void,
  ) {}

  start(): void {
    const owner = 'console';
    this.unsubscribe.push(
      this.bus.on('device.event', owner, ({ device, type, details, at }) => {
        this.events.set(device.id, { type, at, details });
        this.changed(device.id);
      }),
      this.bus.on('command.result', owner, (result) => {
        const code = result.status === 'ok' ? 'ok' : (result.code ?? 'error');
        this.results.set(result.device, { id: result.id, command: result.command, code, message: result.message, at: result.timing.finished_at, source: result.source });
        this.changed(result.device);
        this.resulted(result);
      }),
      this.bus.on('device.image', owner, ({ device, bytes, at }) => {
        if (bytes.length > MAX_IMAGE_BYTES) return;
        this.images.set(device.id, { at: at ?? Date.now(), bytes });
      }),
      this.bus.on('device.state', owner, ({ device }) => this.changed(device.id)),
      this.bus.on('device.availability', owner, ({ device }) => this.changed(device.id)),
      this.bus.on('device.retired', owner, ({ device }) => {
        this.events.delete(device.id);
        this.results.delete(device.id);
        this.images.delete(device.id);
      }),
    );
  }

  stop(): void {
    for (const off of this.unsubscribe.splice(0)) off();
  }

  lastEvent(id: string): LastEvent | undefined {
    return this.events.get(id);
  }

  lastResult(id: string): LastResult | undefined {
    return this.results.get(id);
  }

  snapshot(id: string): Snapshot | undefined {
    return this.images.get(id);
  }
}
