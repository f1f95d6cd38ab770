// Transport configuration as the user writes it, and the factory that builds a transport from it.
import type { DriverLogger, TransportAccess } from '../driver-api.js';
import { ModbusTcpLink } from './modbus-tcp.js';

/** snake_case: this comes straight from the user's config file. */
export type ModbusTcpTransportConfig = {
  type: 'modbus-tcp';
  host: string;
  port: number;
  timeout_ms: number;
  backoff: { initial_ms: number; max_ms: number };
};

// A later issue adds `| ModbusRtuTransportConfig` (a shared RS-485 bus) here and a case below.
export type TransportConfig = ModbusTcpTransportConfig;

export type TransportType = TransportConfig['type'];

export interface Transport {
  /** What drivers are handed. */
  readonly access: TransportAccess;
  /** Begins connecting in the background; never fails because the peer is unreachable. */
  start(): Promise<void>;
  stop(): Promise<void>;
  readonly connected: boolean;
  on(event: 'up' | 'down', listener: () => void): void;
}

export function createTransport(name: string, cfg: TransportConfig, log: DriverLogger): Transport {
  switch (cfg.type) {
    case 'modbus-tcp':
      return modbusTcp(name, cfg, log);
    default: {
      const unknown: never = cfg.type;
      throw new Error(`transport ${name}: unknown type ${JSON.stringify(unknown)}`);
    }
  }
}

function modbusTcp(name: string, cfg: ModbusTcpTransportConfig, log: DriverLogger): Transport {
  const link = new ModbusTcpLink(
    name,
    {
      host: cfg.host,
      port: cfg.port,
      timeoutMs: cfg.timeout_ms,
      backoff: { initialMs: cfg.backoff.initial_ms, maxMs: cfg.backoff.max_ms },
    },
    log,
  );
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
