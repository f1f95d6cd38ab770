// Pictures through the driver's `snapshot` action: the image goes to the sink (the gateway
// publishes it on the image topic and announces it with a `snapshot` event).
import { DeviceError } from '../../driver-api.js';
import { actionsOf } from './action-port.js';
import type { Piece, PieceContext, PieceRuntime } from './piece.js';

export class Snapshots implements PieceRuntime {
  private lastAt: number | null = null;

  constructor(private readonly ctx: PieceContext) {}

  async take(signal: AbortSignal): Promise<Record<string, unknown>> {
    const { data = {}, image } = await actionsOf(this.ctx).perform('snapshot', {}, signal);
    if (image === undefined) throw new DeviceError('device_error', 'the driver returned no image');
    this.ctx.sink.image?.(image.bytes, { contentType: image.contentType, at: image.at });
    this.lastAt = image.at;
    this.ctx.touch();
    return data;
  }

  state(): Record<string, unknown> {
    return { last_snapshot_at: this.lastAt };
  }
}

export function snapshots(): Piece<Snapshots> {
  return {
    actions: ['snapshot'],
    events: { snapshot: { doc: 'A picture was published on the image topic: {bytes, at, file?}. Announced by the gateway as it publishes it.' } },
    state: { last_snapshot_at: 'When the last snapshot was taken, epoch ms; null before any.' },
    create: (ctx) => new Snapshots(ctx),
  };
}
