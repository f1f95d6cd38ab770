// The kinds, drivers and transports gatehouse ships, as one value. Config loading and the gateway
// are handed a Registries value (this one unless a caller brings its own) and loop over it; they
// import no kind, driver or transport themselves. Adding one is its definition plus a line in its
// own registry file (src/devices/kinds/index.ts, drivers/index.ts, src/transport/registry.ts).
import { drivers } from '../drivers/index.js';
import { gatewayKind } from './devices/kinds/gateway.js';
import type { KindDefinition } from './devices/kinds/types.js';
import { kinds } from './devices/kinds/index.js';
import type { DriverDefinition } from './driver-api.js';
import { builtinTransports, type TransportRegistry } from './transport/registry.js';

export interface Registries {
  kinds: Readonly<Record<string, KindDefinition>>;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- each driver has its own options type
  drivers: Readonly<Record<string, DriverDefinition<any>>>;
  transports: TransportRegistry;
}

export const builtinRegistries: Registries = Object.freeze({ kinds, drivers, transports: builtinTransports });

/** The entry named `name`, never one inherited from Object.prototype. */
export function entryOf<T>(registry: Readonly<Record<string, T>>, name: unknown): T | undefined {
  return typeof name === 'string' && Object.hasOwn(registry, name) ? registry[name] : undefined;
}

/**
 * kind -> command names: what the topic layout builds command subscriptions from, and what
 * `uplink.allow_commands` may name. The gateway's own commands are always there: the gateway is
 * not a device of the config, but it is a kind of the topic contract.
 */
export function commandCatalogOf(kindRegistry: Registries['kinds']): Record<string, string[]> {
  return {
    ...Object.fromEntries(Object.values(kindRegistry).map((k) => [k.name, Object.keys(k.commands)])),
    [gatewayKind.name]: Object.keys(gatewayKind.commands),
  };
}
