// `type: modbus-rtu`: a shared RS-485 serial bus speaking Modbus RTU; its devices differ by unit id.
import type { FieldSpecs } from '../config/fields.js';
import {
  BACKOFF_KEY, backoffOptions, checkSerialPath, describeSerialPort, parseBackoff, parseTransportFields, SERIAL_PATH_KEY, SERIAL_PORT_FIELDS,
  serialPortOptions, type BackoffConfig, type SerialPortConfig,
} from './config-pieces.js';
import { asTransport, type KeyDoc, type TransportDefinition } from './definition.js';
import { defaultInterFrameMs, ModbusRtuBus } from './modbus-rtu.js';

export type ModbusRtuTransportConfig = SerialPortConfig & {
  type: 'modbus-rtu';
  timeout_ms: number;
  inter_frame_ms: number;
  backoff: BackoffConfig;
};

/** Modbus over Serial Line V1.02 section 2.2: individual server addresses are 1..247. */
const RTU_UNIT_MIN = 1;
const RTU_UNIT_MAX = 247;

const FIELDS: FieldSpecs = {
  ...SERIAL_PORT_FIELDS,
  timeout_ms: { type: 'int', min: 10, max: 60_000, default: 1000 },
  // No default here: it follows from the line settings (defaultInterFrameMs).
  inter_frame_ms: { type: 'int', min: 0, max: 1000 },
};
const KEYS: KeyDoc[] = [SERIAL_PATH_KEY, BACKOFF_KEY];

export const modbusRtu: TransportDefinition<ModbusRtuTransportConfig> = {
  type: 'modbus-rtu',
  summary: 'Modbus RTU on a shared RS-485 bus: one request on the line at a time, with the t3.5 gap between frames.',
  fields: FIELDS,
  keys: KEYS,
  parse(entry, path, issues) {
    const { type: _type, path: devicePath, backoff = {}, rs485, ...rest } = entry;
    checkSerialPath(devicePath, path, issues);
    if (rs485 !== undefined) {
      // serialport 13 exposes no RS-485 (TIOCSRS485) settings; direction control stays with the adapter.
      issues.push({ path: `${path}.rs485`, message: 'not supported: the serial library has no RS-485 settings; use an adapter with automatic direction control' });
    }
    const values = parseTransportFields(rest, FIELDS, KEYS, path, issues);
    const baudRate = values.baud_rate as number;
    const dataBits = values.data_bits as 7 | 8;
    const parity = values.parity as 'none' | 'even' | 'odd';
    const stopBits = values.stop_bits as 1 | 2;
    return {
      type: 'modbus-rtu',
      path: devicePath as string,
      baud_rate: baudRate,
      data_bits: dataBits,
      parity,
      stop_bits: stopBits,
      timeout_ms: values.timeout_ms as number,
      inter_frame_ms: (values.inter_frame_ms as number | undefined) ?? defaultInterFrameMs(baudRate ?? 9600, dataBits ?? 8, parity ?? 'none', stopBits ?? 1),
      backoff: parseBackoff(backoff, path, issues),
    };
  },
  checkDevice(_cfg, driverOptions) {
    const unit = (driverOptions as { unit?: unknown } | undefined)?.unit;
    if (typeof unit === 'number' && (unit < RTU_UNIT_MIN || unit > RTU_UNIT_MAX)) {
      return [{ key: 'options.unit', message: `must be ${RTU_UNIT_MIN}..${RTU_UNIT_MAX} on a serial bus (0 is the broadcast address), got ${unit}` }];
    }
    return [];
  },
  describe: (cfg) => describeSerialPort(cfg),
  create: (name, cfg, log) =>
    asTransport(new ModbusRtuBus(name, { ...serialPortOptions(cfg), timeoutMs: cfg.timeout_ms, interFrameMs: cfg.inter_frame_ms, backoff: backoffOptions(cfg) }, log)),
};
