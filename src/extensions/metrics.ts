// Prometheus metrics (src/metrics/) fed from the bus: results, availability changes, poll failures,
// and the series of a retired device dropped.
import type { EventBus, Extension } from '../event-bus.js';
import type { GatewayEvents } from '../gateway/events.js';
import type { GatewayMetrics } from '../metrics/metrics.js';

export class MetricsExtension implements Extension {
  readonly name = 'metrics';
  private readonly unsubscribe: (() => void)[] = [];

  constructor(
    private readonly bus: EventBus<GatewayEvents>,
    readonly metrics: GatewayMetrics,
  ) {}

  /** Never throws: a metrics port that cannot be bound is logged and the gateway runs on. */
  async start(): Promise<void> {
    const { bus, metrics } = this;
    this.unsubscribe.push(
      bus.on('command.result', this.name, (result) => metrics.commandResult(result)),
      bus.on('device.availability', this.name, ({ device, availability }) => metrics.availabilityChanged(device.kind.name, device.id, availability)),
      bus.on('device.pollFailed', this.name, ({ device, code }) => metrics.pollFailed(device.kind.name, device.id, code)),
      bus.on('device.retired', this.name, ({ device }) => metrics.deviceRemoved(device.kind.name, device.id)),
    );
    await metrics.start();
  }

  async stop(): Promise<void> {
    await this.metrics.stop();
    for (const off of this.unsubscribe.splice(0)) off();
  }
}
