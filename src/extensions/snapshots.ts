// A camera's snapshot (src/devices/snapshot-publisher.ts): the image topic and the uplink, a file
// under {data_dir}/snapshots/{camera}/, and a `snapshot` event.
import { join } from 'node:path';
import type { GatehouseConfig } from '../config.js';
import type { Device } from '../devices/device.js';
import { SnapshotPublisher } from '../devices/snapshot-publisher.js';
import type { EventBus, Extension } from '../event-bus.js';
import type { GatewayEvents } from '../gateway/events.js';
import type { Outlet } from '../gateway/outlet.js';
import type { Logger } from '../log.js';
import { SnapshotFiles } from '../store/snapshot-files.js';

export class SnapshotsExtension implements Extension {
  readonly name = 'snapshots';
  private readonly files: SnapshotFiles;
  private readonly publisher: SnapshotPublisher<Device>;
  private unsubscribe: (() => void) | undefined;

  constructor(
    private readonly bus: EventBus<GatewayEvents>,
    outlet: Outlet,
    config: Readonly<GatehouseConfig>,
    /** The device event path (guarded: only the current instance under an id reports). */
    event: (device: Device, type: string, details: Record<string, unknown>) => void,
    log: Logger,
  ) {
    this.files = new SnapshotFiles({ dir: join(config.data_dir, 'snapshots'), keep: config.snapshots.keep, maxBytes: config.snapshots.max_bytes, log });
    this.publisher = new SnapshotPublisher<Device>({
      site: config.site,
      dataDir: config.data_dir,
      files: this.files,
      publish: (topic, payload, retain) => void outlet.publish(topic, payload, retain),
      event,
    });
  }

  async start(): Promise<void> {
    await this.files.start();
    this.unsubscribe = this.bus.on('device.image', this.name, ({ device, bytes, at }) => this.publisher.publish(device, bytes, { at }));
  }

  async stop(): Promise<void> {
    this.unsubscribe?.();
    await this.files.stop();
  }
}
