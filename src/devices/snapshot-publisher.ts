// What happens to a snapshot a camera delivered (DESIGN.md section 2, issue 7): its JPEG bytes are
// published on site/{site}/camera/{id}/image (QoS 1, not retained; the gateway's publish also
// hands them to the cloud outbox), kept as a file under {data_dir}/snapshots/{id}/, and announced
// by a `snapshot` event {bytes, at, file?} on the camera's event topic. A file that cannot be
// written never stops the publish or the event (the event then has no `file`).

import { posix, relative, sep } from 'node:path';
import type { SnapshotFiles } from '../store/snapshot-files.js';
import { topics } from '../topics.js';

export interface SnapshotSource {
  readonly id: string;
}

export interface SnapshotMeta {
  /** When the camera took it, epoch ms; the time it arrived when absent. */
  at?: number;
}

export interface SnapshotPublisherDeps<D extends SnapshotSource> {
  site: string;
  /** Snapshot files are reported relative to this folder (the data dir). */
  dataDir: string;
  files: Pick<SnapshotFiles, 'save'>;
  /** The gateway's publish: broker at QoS 1 and the uplink. */
  publish(topic: string, payload: Buffer, retain: boolean): void;
  /** The gateway's device event path (event topic, links, log). */
  event(device: D, type: string, details: Record<string, unknown>): void;
  now?: () => number;
}

export const SNAPSHOT_EVENT = 'snapshot';

export class SnapshotPublisher<D extends SnapshotSource> {
  constructor(private readonly deps: SnapshotPublisherDeps<D>) {}

  /** Resolves once the file is written (or failed) and the event is out. Never rejects. */
  async publish(device: D, jpeg: Uint8Array, meta: SnapshotMeta = {}): Promise<void> {
    const at = typeof meta.at === 'number' && Number.isFinite(meta.at) ? meta.at : (this.deps.now ?? Date.now)();
    const bytes = Buffer.isBuffer(jpeg) ? jpeg : Buffer.from(jpeg.buffer, jpeg.byteOffset, jpeg.length);
    this.deps.publish(topics.image(this.deps.site, device.id), bytes, false);
    const stored = await this.deps.files.save(device.id, bytes, at).catch(() => undefined);
    const file = stored ? relative(this.deps.dataDir, stored.path).split(sep).join(posix.sep) : undefined;
    this.deps.event(device, SNAPSHOT_EVENT, { bytes: bytes.length, at, ...(file ? { file } : {}) });
  }
}
