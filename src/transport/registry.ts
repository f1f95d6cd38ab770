// Transport configuration as the user writes it, and the factory that builds a transport from it.
import type { DriverLogger, TransportAccess } from '../driver-api.js';
import type { BackoffOptions } from './backoff.js';
import { ModbusRtuBus, type ModbusRtuBusConfig } from './modbus-rtu.js';
import { ModbusTcpLink, type ModbusTcpLinkConfig } from './modbus-tcp.js';
import { SerialLinePort, type LineEncoding, type SerialLineConfig } from './serial-line.js';
import { OnvifCamera, type OnvifCameraConfig } from './onvif.js';

/** snake_case: this comes straight from the user's config file. */
export type ModbusTcpTransportConfig = {
  type: 'modbus-tcp';
  host: string;
  port: number;
  timeout_ms: number;
  backoff: { initial_ms: number; max_ms: number };
};

/** A shared serial (RS-485) bus speaking Modbus RTU; devices on it differ by unit id. */
export type ModbusRtuTransportConfig = {
  type: 'modbus-rtu';
  path: string;
  baud_rate: number;
  data_bits: 7 | 8;
  parity: 'none' | 'even' | 'odd';
  stop_bits: 1 | 2;
  timeout_ms: number;
  inter_frame_ms: number;
  backoff: { initial_ms: number; max_ms: number };
};

/** A serial port speaking text lines (turnstile and barrier controllers). */
export type SerialLineTransportConfig = {
  type: 'serial-line';
  path: string;
  baud_rate: number;
  data_bits: 7 | 8;
  parity: 'none' | 'even' | 'odd';
  stop_bits: 1 | 2;
  /** Ends a line in both directions. */
  terminator: string;
  encoding: LineEncoding;
  reply_timeout_ms: number;
  max_line_length: number;
  backoff: { initial_ms: number; max_ms: number };
};

/** An ONVIF camera (src/transport/onvif-config.ts validates it; a password_file is read into `password`). */
export type OnvifTransportConfig = {
  type: 'onvif';
  xaddr: string;
  user: string;
  password: string;
  timeout_ms: number;
  init_timeout_ms: number;
  max_body_bytes: number;
  max_image_bytes: number;
  backoff: { initial_ms: number; max_ms: number };
};

export type TransportConfig = ModbusTcpTransportConfig | ModbusRtuTransportConfig | SerialLineTransportConfig | OnvifTransportConfig;

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
      return asTransport(new ModbusTcpLink(name, modbusTcpOptions(cfg), log));
    case 'modbus-rtu':
      return asTransport(new ModbusRtuBus(name, modbusRtuOptions(cfg), log));
    case 'serial-line':
      return asTransport(new SerialLinePort(name, serialLineOptions(cfg), log));
    case 'onvif':
      return asTransport(new OnvifCamera(name, onvifOptions(cfg), log));
    default: {
      const unknown: never = cfg;
      throw new Error(`transport ${name}: unknown type ${JSON.stringify((unknown as { type: unknown }).type)}`);
    }
  }
}

function backoffOf(cfg: TransportConfig): BackoffOptions {
  return { initialMs: cfg.backoff.initial_ms, maxMs: cfg.backoff.max_ms };
}

function modbusTcpOptions(cfg: ModbusTcpTransportConfig): ModbusTcpLinkConfig {
  return { host: cfg.host, port: cfg.port, timeoutMs: cfg.timeout_ms, backoff: backoffOf(cfg) };
}

/** What a Modbus RTU bus and a serial line port share: the serial port's settings. */
function serialPortOptions(cfg: ModbusRtuTransportConfig | SerialLineTransportConfig) {
  return { path: cfg.path, baudRate: cfg.baud_rate, dataBits: cfg.data_bits, parity: cfg.parity, stopBits: cfg.stop_bits };
}

function modbusRtuOptions(cfg: ModbusRtuTransportConfig): ModbusRtuBusConfig {
  return { ...serialPortOptions(cfg), timeoutMs: cfg.timeout_ms, interFrameMs: cfg.inter_frame_ms, backoff: backoffOf(cfg) };
}

function serialLineOptions(cfg: SerialLineTransportConfig): SerialLineConfig {
  return {
    ...serialPortOptions(cfg),
    terminator: cfg.terminator,
    encoding: cfg.encoding,
    replyTimeoutMs: cfg.reply_timeout_ms,
    maxLineLength: cfg.max_line_length,
    backoff: backoffOf(cfg),
  };
}

function onvifOptions(cfg: OnvifTransportConfig): OnvifCameraConfig {
  return {
    xaddr: cfg.xaddr,
    user: cfg.user,
    password: cfg.password,
    timeoutMs: cfg.timeout_ms,
    initTimeoutMs: cfg.init_timeout_ms,
    maxBodyBytes: cfg.max_body_bytes,
    maxImageBytes: cfg.max_image_bytes,
    backoff: backoffOf(cfg),
  };
}

/** Every link is its own driver-facing access and an EventEmitter of 'up' and 'down'. */
function asTransport(link: TransportAccess & { start(): Promise<void>; stop(): Promise<void>; readonly connected: boolean; on(event: 'up' | 'down', listener: () => void): unknown }): Transport {
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
