// The gateway's own retained state (site/{site}/gateway/{id}/state): version, session, uptime,
// devices online, the uplink's figures. Published every 30 s and whenever a device's availability
// changes; it is also the core of the birth on every cloud connection (picture()).
import type { EventBus, Extension } from '../event-bus.js';
import type { DeviceRegistry } from '../gateway/device-registry.js';
import type { GatewayEvents } from '../gateway/events.js';
import type { Outlet } from '../gateway/outlet.js';
import { topics } from '../topics.js';
import type { LinkMessage, Uplink } from '../uplink/uplink.js';
import { VERSION } from '../version.js';

export const GATEWAY_STATE_INTERVAL_MS = 30_000;

export interface GatewayIdentity {
  site: string;
  gatewayId: string;
  session: number;
  startedAt: number;
}

export class GatewayStatePublisher implements Extension {
  readonly name = 'gateway-state';
  private timer: NodeJS.Timeout | undefined;
  private unsubscribe: (() => void) | undefined;

  constructor(
    private readonly bus: EventBus<GatewayEvents>,
    private readonly outlet: Outlet,
    private readonly devices: DeviceRegistry,
    private readonly uplink: Uplink | undefined,
    private readonly identity: GatewayIdentity,
  ) {}

  start(): void {
    this.unsubscribe = this.bus.on('device.availability', this.name, () => this.publish());
    this.timer = setInterval(() => void this.publish(), GATEWAY_STATE_INTERVAL_MS);
  }

  stop(): void {
    clearInterval(this.timer);
    this.unsubscribe?.();
  }

  state(): Record<string, unknown> {
    const total = this.devices.size;
    const online = this.devices.onlineCount();
    return {
      version: VERSION,
      session: this.identity.session,
      started_at: this.identity.startedAt,
      uptime_s: Math.round((Date.now() - this.identity.startedAt) / 1000),
      devices: { total, online, offline: total - online },
      ...this.uplink?.stateFields(),
    };
  }

  publish(): Promise<void> {
    return this.outlet.publish(topics.gatewayState(this.identity.site, this.identity.gatewayId), JSON.stringify(this.state()), true);
  }

  /** Gateway online and state, then every device's state and availability: the birth on the cloud link. */
  picture(): LinkMessage[] {
    const { site, gatewayId } = this.identity;
    const picture: LinkMessage[] = [
      { topic: topics.gatewayAvailability(site, gatewayId), payload: 'online', retain: true },
      { topic: topics.gatewayState(site, gatewayId), payload: JSON.stringify(this.state()), retain: true },
    ];
    for (const device of this.devices.values()) {
      picture.push({ topic: topics.state(site, device.kind.name, device.id), payload: JSON.stringify(device.state()), retain: true });
      picture.push({ topic: topics.availability(site, device.kind.name, device.id), payload: device.availability, retain: true });
    }
    return picture;
  }
}
