// The last device events and security refusals, kept in memory for `gatehouse status` (/status.json).
import type { EventBus, Extension } from '../event-bus.js';
import type { GatewayEvents } from '../gateway/events.js';
import type { RecentActivity } from '../metrics/recent-activity.js';

export class RecentActivityExtension implements Extension {
  readonly name = 'recent-activity';
  private readonly unsubscribe: (() => void)[] = [];

  constructor(
    private readonly bus: EventBus<GatewayEvents>,
    private readonly recent: RecentActivity,
  ) {}

  start(): void {
    this.unsubscribe.push(
      this.bus.on('device.event', this.name, ({ device, type, details, at }) => this.recent.event(device.kind.name, device.id, type, details, at)),
      this.bus.on('security', this.name, (e) => this.recent.refusal(e)),
    );
  }

  stop(): void {
    for (const off of this.unsubscribe.splice(0)) off();
  }
}
