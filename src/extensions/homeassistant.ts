// Home Assistant MQTT discovery (homeassistant.enabled): a retained discovery config per device
// and one for the gateway on the local broker (src/homeassistant/discovery.ts), published at start,
// again whenever Home Assistant says `online` on {prefix}/status (its birth after a restart), and
// after a reload; a device removed at a reload gets an empty retained config, which removes it.
// The configs go to the local broker only, never to the cloud: they name this site's local topics.
// Any client allowed to publish {prefix}/status can repeat the birth: births are coalesced into at
// most one waiting round, and rounds start at least `republishSpacingMs` apart.
import { setTimeout as delay } from 'node:timers/promises';
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
  /** The least time between two rounds that births set off (default 5 s). */
  republishSpacingMs?: number;
}

const REPUBLISH_SPACING_MS = 5000;

export class HomeAssistantExtension implements Extension {
  readonly name = 'homeassistant';
  private readonly unsubscribe: (() => void)[] = [];
  private readonly stopping = new AbortController();
  private lastRoundAt = -Infinity;
  private round: Promise<void> | undefined;
  /** The one round waiting for the spacing or for the round before it, if any. */
  private waiting: Promise<void> | undefined;

  constructor(private readonly options: HomeAssistantOptions) {}

  async start(): Promise<void> {
    const { bus } = this.options;
    this.unsubscribe.push(
      bus.on('broker.published', this.name, ({ topic, payload }) => {
        if (topic === statusTopic(this.site().prefix) && payload.toString('utf8') === 'online') this.birth();
      }),
      bus.on('device.retired', this.name, ({ device }) => this.remove(device.kind.name, device.id)),
      bus.on('config.reloaded', this.name, () => this.publishAll()),
    );
    await this.publishAll();
  }

  async stop(): Promise<void> {
    for (const off of this.unsubscribe.splice(0)) off();
    this.stopping.abort();
    await this.settled();
  }

  /** Resolves once no round that a birth set off is running or waiting. */
  async settled(): Promise<void> {
    await this.waiting;
    await this.round?.catch(() => undefined);
  }

  /** Home Assistant said `online`: one round, now or once the spacing allows; never more than one waiting. */
  private birth(): void {
    if (this.waiting || this.stopping.signal.aborted) return;
    this.waiting = this.nextRound().catch((err: unknown) => {
      if (!this.stopping.signal.aborted) this.options.log.warn({ err: String(err) }, 'home assistant discovery not republished');
    });
  }

  private async nextRound(): Promise<void> {
    await this.round?.catch(() => undefined); // its failure was logged by its own birth
    const wait = this.lastRoundAt + (this.options.republishSpacingMs ?? REPUBLISH_SPACING_MS) - Date.now();
    if (wait > 0) await delay(wait, undefined, { signal: this.stopping.signal });
    this.waiting = undefined; // from here on, the next birth waits for this round
    this.lastRoundAt = Date.now();
    this.round = this.publishAll().finally(() => (this.round = undefined));
    await this.round;
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
