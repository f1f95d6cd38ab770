// `type: serial-line`: a serial port speaking text lines (turnstile and barrier controllers).
import type { FieldSpecs } from '../config/fields.js';
import {
  BACKOFF_KEY, backoffOptions, checkSerialPath, describeSerialPort, parseBackoff, parseTransportFields, SERIAL_PATH_KEY, SERIAL_PORT_FIELDS,
  serialPortOptions, type BackoffConfig, type SerialPortConfig,
} from './config-pieces.js';
import { asTransport, type KeyDoc, type TransportDefinition } from './definition.js';
import { SerialLinePort, type LineEncoding } from './serial-line.js';

export type SerialLineTransportConfig = SerialPortConfig & {
  type: 'serial-line';
  /** Ends a line in both directions. */
  terminator: string;
  encoding: LineEncoding;
  reply_timeout_ms: number;
  max_line_length: number;
  backoff: BackoffConfig;
};

const FIELDS: FieldSpecs = {
  ...SERIAL_PORT_FIELDS,
  encoding: { type: 'enum', values: ['ascii', 'latin1', 'utf8'], default: 'ascii' },
  reply_timeout_ms: { type: 'int', min: 10, max: 60_000, default: 1000 },
  max_line_length: { type: 'int', min: 8, max: 65_536, default: 512 },
};
const KEYS: KeyDoc[] = [SERIAL_PATH_KEY, { key: 'terminator', default: '"\\r\\n"', doc: 'Ends a line in both directions: 1 to 4 characters.' }, BACKOFF_KEY];

export const serialLine: TransportDefinition<SerialLineTransportConfig> = {
  type: 'serial-line',
  summary: 'A serial port speaking text lines: one request and its reply at a time, other lines as events.',
  fields: FIELDS,
  keys: KEYS,
  parse(entry, path, issues) {
    const { type: _type, path: devicePath, terminator = '\r\n', backoff = {}, ...rest } = entry;
    checkSerialPath(devicePath, path, issues);
    if (typeof terminator !== 'string' || terminator.length === 0 || terminator.length > 4) {
      issues.push({ path: `${path}.terminator`, message: `must be a non-empty string of at most 4 characters (e.g. "\\r\\n"), got ${JSON.stringify(terminator)}` });
    }
    const values = parseTransportFields(rest, FIELDS, KEYS, path, issues);
    return {
      type: 'serial-line',
      path: devicePath as string,
      baud_rate: values.baud_rate as number,
      data_bits: values.data_bits as 7 | 8,
      parity: values.parity as 'none' | 'even' | 'odd',
      stop_bits: values.stop_bits as 1 | 2,
      terminator: terminator as string,
      encoding: values.encoding as LineEncoding,
      reply_timeout_ms: values.reply_timeout_ms as number,
      max_line_length: values.max_line_length as number,
      backoff: parseBackoff(backoff, path, issues),
    };
  },
  describe: (cfg) => describeSerialPort(cfg),
  create: (name, cfg, log) =>
    asTransport(
      new SerialLinePort(
        name,
        { ...serialPortOptions(cfg), terminator: cfg.terminator, encoding: cfg.encoding, replyTimeoutMs: cfg.reply_timeout_ms, maxLineLength: cfg.max_line_length, backoff: backoffOptions(cfg) },
        log,
      ),
    ),
};
