// What a transport is to the rest of gatehouse: a self-describing definition. It owns its config
// schema and cross-field checks (parse), the checks it imposes on the devices that use it
// (checkDevice), a one-line description, its documentation table, and its factory (create).
// config loading and the gateway loop over a registry of these; neither knows any one transport.
import type { ConfigIssue, DriverLogger, TransportAccess } from '../driver-api.js';
import type { FieldSpecs } from '../config/fields.js';

export interface Transport {
  /** What drivers are handed. */
  readonly access: TransportAccess;
  /** Begins connecting in the background; never fails because the peer is unreachable. */
  start(): Promise<void>;
  stop(): Promise<void>;
  readonly connected: boolean;
  on(event: 'up' | 'down', listener: () => void): void;
}

/** A key of the transport's config that is not a plain field (a path, a URL, a secret, a nested block). */
export interface KeyDoc {
  key: string;
  required?: boolean;
  default?: string;
  doc: string;
}

export interface TransportDefinition<C extends { type: string } = { type: string }> {
  /** The `type:` that selects it in `transports.<name>`. */
  readonly type: C['type'];
  /** One line: what it connects to (config reference and `gatehouse check`). */
  readonly summary: string;
  /** Plain fields with their ranges and defaults (validated by parseFields). */
  readonly fields: FieldSpecs;
  /** Every other key, for the documentation table. */
  readonly keys: readonly KeyDoc[];
  /** Validates `transports.<name>` (path names it), pushing every problem; defaults applied. */
  parse(entry: Record<string, unknown>, path: string, issues: ConfigIssue[]): C;
  /** Problems of a device on this transport, e.g. a Modbus unit id a serial bus cannot address. */
  checkDevice?(cfg: C, driverOptions: unknown): { key: string; message: string }[];
  /** One line naming where it connects, for `gatehouse check`: `127.0.0.1:502`, `/dev/ttyUSB0 9600 8N1`. */
  describe(cfg: C): string;
  create(name: string, cfg: C, log: DriverLogger): Transport;
}

/** Transport definitions by type: handed to config loading and to the gateway. */
export type TransportRegistry = Readonly<Record<string, TransportDefinition<any>>>;

export function transportRegistry(definitions: readonly TransportDefinition<any>[]): TransportRegistry {
  const registry: Record<string, TransportDefinition<any>> = {};
  for (const definition of definitions) {
    if (Object.hasOwn(registry, definition.type)) throw new Error(`two transport definitions of type ${definition.type}`);
    registry[definition.type] = definition;
  }
  return Object.freeze(registry);
}

/** Every link is its own driver-facing access and an EventEmitter of 'up' and 'down'. */
export function asTransport(link: TransportAccess & { start(): Promise<void>; stop(): Promise<void>; readonly connected: boolean; on(event: 'up' | 'down', listener: () => void): unknown }): Transport {
  return {
    access: link,
    start: () => link.start(),
    stop: () => link.stop(),
    get connected() {
      return link.connected;
    },
    on(event, listener) {
      link.on(event, listener);
    },
  };
}
