// Home Assistant MQTT discovery (homeassistant.enabled): a retained discovery config per device
// and one for the gateway on the local broker (src/homeassistant/discovery.ts), published at start,
// again whenever Home Assistant says `online` on {prefix}/status (its birth after a restart), and
// after a reload; a device removed at a reload gets an empty retained config, which removes it.
// The configs go to the local broker only, never to the cloud: they name this site's local topics.
import type { GatehouseConfig } from '../config.js';
import type { EventBus, Extension } from '../event-bus.js';
import type { GatewayEvents } from '../gateway/events.js';
import type { Logger } from '../log.js';
import type { KindDefinition } from '../devices/kinds/types.js';
import { configTopic, deviceDiscovery, gatewayDiscovery, objectId, statusTopic, type DiscoverySite } from '../homeassistant/discovery.js';

export interface HomeAssistantOptions {
  bus: EventBus<GatewayEvents>;
  /** The running config (replaced at a reload). */
  config: () => Readonly<GatehouseConfig>;
  kinds: Readonly<Record<string, KindDefinition>>;
  /** A retained QoS 1 publish on the local broker. */
  publishLocal(topic: string, payload: string): Promise<void>;
  version: string;
  log: Logger;
}

export class HomeAssistantExtension implements Extension {
  readonly name = 'homeassistant';
  private readonly unsubscribe: (() => void)[] = [];

  constructor(private readonly options: HomeAssistantOptions) {}

  async start(): Promise<void> {
    const { bus } = this.options;
    this.unsubscribe.push(
      bus.on('broker.published', this.name, ({ topic, payload }) => {
        if (topic === statusTopic(this.site().prefix) && payload.toString('utf8') === 'online') return this.publishAll();
      }),
      bus.on('device.retired', this.name, ({ device }) => this.remove(device.kind.name, device.id)),
      bus.on('config.reloaded', this.name, () => this.publishAll()),
    );
    await this.publishAll();
  }

  async stop(): Promise<void> {
    for (const off of this.unsubscribe.splice(0)) off();
  }

  private site(): DiscoverySite {
    const config = this.options.config();
    return { site: config.site, gatewayId: config.gateway_id, prefix: config.homeassistant.prefix, version: this.options.version };
  }

  /** Every device's config and the gateway's, retained. */
  async publishAll(): Promise<void> {
    const site = this.site();
    const messages = [gatewayDiscovery(site)];
    for (const device of this.options.config().devices) {
      const kind = this.options.kinds[device.kind];
      if (kind) messages.push(deviceDiscovery(site, { id: device.id, name: device.name || device.id, driver: device.driver, kind }));
    }
    for (const message of messages) await this.options.publishLocal(message.topic, JSON.stringify(message.payload));
    this.options.log.debug({ configs: messages.length }, 'home assistant discovery published');
  }

  private async remove(kind: string, id: string): Promise<void> {
    const site = this.site();
    await this.options.publishLocal(configTopic(site.prefix, objectId(site.site, kind, id)), '');
  }
}
