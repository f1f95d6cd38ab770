// Device news and command results onto their topics (DESIGN.md section 2): state and availability
// retained, events and results not; a device retired by a reload leaves no retained topics behind.
import type { EventBus, Extension } from '../event-bus.js';
import type { GatewayEvents } from '../gateway/events.js';
import type { Outlet } from '../gateway/outlet.js';
import type { Logger } from '../log.js';
import { topics } from '../topics.js';

export class DevicePublisher implements Extension {
  readonly name = 'device-publisher';
  private readonly unsubscribe: (() => void)[] = [];

  constructor(
    private readonly bus: EventBus<GatewayEvents>,
    private readonly outlet: Outlet,
    private readonly site: string,
    private readonly log: Logger,
  ) {}

  start(): void {
    const { bus, outlet, site } = this;
    this.unsubscribe.push(
      bus.on('device.state', this.name, ({ device, state }) => outlet.publish(topics.state(site, device.kind.name, device.id), JSON.stringify(state), true)),
      bus.on('device.availability', this.name, ({ device, availability }) => outlet.publish(topics.availability(site, device.kind.name, device.id), availability, true)),
      bus.on('device.event', this.name, ({ device, type, details, at }) => {
        this.log.info({ device: device.id, event: type, ...details }, 'device event');
        // One time for the event everywhere: its topic, the journal, links and status.
        const event = { event: type, kind: device.kind.name, device: device.id, at, ...details };
        return outlet.publish(topics.event(site, device.kind.name, device.id), JSON.stringify(event), false);
      }),
      bus.on('command.result', this.name, (result) => outlet.publish(topics.result(site, result.kind, result.device), JSON.stringify(result), false)),
      // `offline` for live subscribers, then the retained state and availability are deleted (MQTT-3.3.1-10: a zero-byte retained message).
      bus.on('device.retired', this.name, async ({ device }) => {
        await outlet.publish(topics.availability(site, device.kind.name, device.id), 'offline', true);
        await outlet.publish(topics.state(site, device.kind.name, device.id), '', true);
        await outlet.publish(topics.availability(site, device.kind.name, device.id), '', true);
      }),
    );
  }

  stop(): void {
    for (const off of this.unsubscribe.splice(0)) off();
  }
}
