// Where `gatehouse probe modbus` connects: `tcp://HOST:PORT` or `rtu:/dev/ttyUSB0?baud=9600&parity=even`,
// turned into the transport config a site file would hold and checked by that transport's own parse,
// so a probe accepts exactly the line settings the gateway accepts.
import type { ConfigIssue } from '../driver-api.js';
import { modbusRtu, type ModbusRtuTransportConfig } from '../transport/modbus-rtu-definition.js';
import { modbusTcp, type ModbusTcpTransportConfig } from '../transport/modbus-tcp-definition.js';

export type ModbusTarget = ModbusTcpTransportConfig | ModbusRtuTransportConfig;

/** Query keys of an rtu: address, by the transport key they set. `baud` is the short spelling. */
const RTU_QUERY_KEYS: Record<string, string> = { baud: 'baud_rate', baud_rate: 'baud_rate', parity: 'parity', data_bits: 'data_bits', stop_bits: 'stop_bits' };

export const MODBUS_ADDRESS_FORMS = 'tcp://HOST[:PORT] or rtu:/dev/ttyUSB0[?baud=9600&parity=none&data_bits=8&stop_bits=1]';

/** A probe retries nothing: one attempt, and its failure is the answer. */
const NO_BACKOFF = { initial_ms: 60_000, max_ms: 60_000 };

/** The transport config for `address`, or every problem with it in words. */
export function parseModbusTarget(address: string, timeoutMs: number): { target?: ModbusTarget; problems: string[] } {
  if (address.startsWith('tcp://')) return parseTcp(address, timeoutMs);
  if (address.startsWith('rtu:')) return parseRtu(address, timeoutMs);
  return { problems: [`${JSON.stringify(address)} is not a Modbus address; use ${MODBUS_ADDRESS_FORMS}`] };
}

function parseTcp(address: string, timeoutMs: number): { target?: ModbusTarget; problems: string[] } {
  let url: URL;
  try {
    url = new URL(address);
  } catch {
    return { problems: [`${JSON.stringify(address)} is not a valid tcp:// URL; use tcp://HOST[:PORT]`] };
  }
  const problems: string[] = [];
  if (url.hostname === '') problems.push(`${JSON.stringify(address)} names no host; use tcp://HOST[:PORT]`);
  if (url.username !== '' || url.password !== '' || (url.pathname !== '' && url.pathname !== '/') || url.search !== '' || url.hash !== '') {
    problems.push(`${JSON.stringify(address)}: a Modbus TCP address is only tcp://HOST[:PORT]`);
  }
  if (problems.length > 0) return { problems };
  const entry: Record<string, unknown> = { type: 'modbus-tcp', host: url.hostname.replace(/^\[(.*)\]$/, '$1'), timeout_ms: timeoutMs, backoff: NO_BACKOFF };
  // URL drops the default port of no scheme it knows; tcp: has none, so an explicit port is always kept.
  if (url.port !== '') entry.port = Number(url.port);
  const issues: ConfigIssue[] = [];
  return checked(modbusTcp.parse(entry, address, issues), issues, address);
}

function parseRtu(address: string, timeoutMs: number): { target?: ModbusTarget; problems: string[] } {
  const rest = address.slice('rtu:'.length);
  const [path, query = ''] = splitOnce(rest, '?');
  const problems: string[] = [];
  const entry: Record<string, unknown> = { type: 'modbus-rtu', path, timeout_ms: timeoutMs, backoff: NO_BACKOFF };
  for (const [key, value] of new URLSearchParams(query)) {
    const field = RTU_QUERY_KEYS[key];
    if (field === undefined) {
      problems.push(`${JSON.stringify(key)} is not a serial line setting; use ${Object.keys(RTU_QUERY_KEYS).join(', ')}`);
      continue;
    }
    entry[field] = /^\d+$/.test(value) ? Number(value) : value;
  }
  if (problems.length > 0) return { problems };
  const issues: ConfigIssue[] = [];
  return checked(modbusRtu.parse(entry, address, issues), issues, address);
}

function checked(target: ModbusTarget, issues: ConfigIssue[], address: string): { target?: ModbusTarget; problems: string[] } {
  // Paths start with the address itself; say which setting is wrong without repeating it.
  const problems = issues.map((i) => `${i.path === address ? '' : `${i.path.slice(address.length + 1)}: `}${i.message}`.replace(/^timeout_ms:/, '--timeout:'));
  return problems.length > 0 ? { problems } : { target, problems };
}

function splitOnce(text: string, separator: string): [string, string?] {
  const at = text.indexOf(separator);
  return at < 0 ? [text] : [text.slice(0, at), text.slice(at + 1)];
}

/** Problems of `unit` on this target: the transport's own device check (0 is broadcast on a serial bus, never answered). */
export function unitProblems(target: ModbusTarget, unit: number): string[] {
  const check = target.type === 'modbus-rtu' ? modbusRtu.checkDevice?.(target, { unit }) : modbusTcp.checkDevice?.(target, { unit });
  return (check ?? []).map((p) => `--unit ${unit}: ${p.message}`);
}

/** One line naming where the probe connects, as `gatehouse check` describes a transport. */
export function describeModbusTarget(target: ModbusTarget): string {
  return target.type === 'modbus-tcp' ? `modbus-tcp ${modbusTcp.describe(target)}` : `modbus-rtu ${modbusRtu.describe(target)}`;
}
