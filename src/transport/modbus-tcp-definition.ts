// `type: modbus-tcp`: one Modbus TCP connection to a PLC or I/O module, shared by its devices.
import type { FieldSpecs } from '../config/fields.js';
import { BACKOFF_KEY, backoffOptions, parseBackoff, parseTransportFields, type BackoffConfig } from './config-pieces.js';
import { asTransport, type KeyDoc, type TransportDefinition } from './definition.js';
import { ModbusTcpLink } from './modbus-tcp.js';

/** snake_case: this comes straight from the user's config file. */
export type ModbusTcpTransportConfig = {
  type: 'modbus-tcp';
  host: string;
  port: number;
  timeout_ms: number;
  backoff: BackoffConfig;
};

const FIELDS: FieldSpecs = {
  port: { type: 'int', min: 1, max: 65_535, default: 502 },
  timeout_ms: { type: 'int', min: 10, max: 60_000, default: 1000 },
};
const KEYS: KeyDoc[] = [{ key: 'host', required: true, doc: 'Host name or address of the Modbus TCP server.' }, BACKOFF_KEY];

export const modbusTcp: TransportDefinition<ModbusTcpTransportConfig> = {
  type: 'modbus-tcp',
  summary: 'Modbus TCP: one connection to a PLC or I/O module, requests one at a time (commands before polls).',
  fields: FIELDS,
  keys: KEYS,
  parse(entry, path, issues) {
    const { type: _type, host, backoff = {}, ...rest } = entry;
    if (typeof host !== 'string' || host.length === 0) issues.push({ path: `${path}.host`, message: 'must be a host name or address' });
    const values = parseTransportFields(rest, FIELDS, KEYS, path, issues);
    return { type: 'modbus-tcp', host: host as string, port: values.port as number, timeout_ms: values.timeout_ms as number, backoff: parseBackoff(backoff, path, issues) };
  },
  describe: (cfg) => `${cfg.host}:${cfg.port}`,
  create: (name, cfg, log) => asTransport(new ModbusTcpLink(name, { host: cfg.host, port: cfg.port, timeoutMs: cfg.timeout_ms, backoff: backoffOptions(cfg) }, log)),
};
