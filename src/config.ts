// Configuration: one convict schema for the fixed sections, hand validation for the open ones
// (transports, devices, users). Loaded from YAML or JSON plus GATEHOUSE_* environment overrides,
// validated once with every problem reported (each naming its key path), then frozen.

import convict from 'convict';
import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import YAML from 'yaml';
import type { ConfigIssue } from './driver-api.js';
import { MAX_TTL_MS } from './commands/envelope.js';
import { validateTopicFilter } from './mqtt-topic.js';
import type { TransportConfig } from './transport/registry.js';
import { isValidId } from './topics.js';
import { builtinRegistries, type Registries } from './registries.js';
import { validateDevices, validateTransports, type DeviceConfig } from './config/devices.js';
import { isPlainObject } from './config/plain-object.js';
import { validateLinks, type LinkConfig } from './links/link-config.js';
import { BOOLEAN, NATURAL, PORT, POSITIVE_INT } from './config/formats.js';
import { suggestionFor } from './config/suggest.js';
import { uplinkSchema, validateUplink, type UplinkConfig } from './uplink/config.js';
import { consoleSchema, validateConsole, type ConsoleConfig } from './console/server/config.js';
import { brokerSchema, validateBrokerListeners, validateUsers, type BrokerConfig, type UserConfig } from './broker/config.js';
import { homeAssistantSchema, validateHomeAssistant, type HomeAssistantConfig } from './homeassistant/config.js';

export type { BrokerConfig, BrokerTlsConfig, BrokerWsConfig, UserConfig } from './broker/config.js';

export type { UplinkConfig } from './uplink/config.js';

export type { ConfigIssue } from './driver-api.js';

export type { DeviceConfig } from './config/devices.js';

export interface GatehouseConfig {
  site: string;
  gateway_id: string;
  data_dir: string;
  log: { level: string };
  /** Listeners, anonymous access, limits, login, persistence (src/broker/config.ts). */
  broker: BrokerConfig;
  users: UserConfig[];
  commands: {
    timeout_ms: number;
    max_age_ms: number;
    clock_skew_ms: number;
    dedupe_window_ms: number;
    queue_limit: number;
  };
  journal: { retention_days: number; max_rows: number };
  /** Prometheus /metrics and /healthz over HTTP (src/metrics/). */
  metrics: { enabled: boolean; host: string; port: number; max_event_loop_lag_ms: number };
  uplink: UplinkConfig;
  transports: Record<string, TransportConfig>;
  devices: DeviceConfig[];
  /** Snapshot files kept per camera under {data_dir}/snapshots/{camera}/. */
  snapshots: { keep: number; max_bytes: number };
  /** Commands run when a device emits an event (src/links). */
  links: LinkConfig[];
  /** The technician console's listener and sessions (src/console/server/). */
  console: ConsoleConfig;
  /** Home Assistant MQTT discovery (src/extensions/homeassistant.ts). */
  homeassistant: HomeAssistantConfig;
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

convict.addFormat({
  name: 'id',
  validate(value: unknown) {
    if (!isValidId(value)) throw new Error('must be 1 to 64 of a-z 0-9 _ -');
  },
});
convict.addFormat({
  name: 'filter-list',
  validate(value: unknown) {
    if (!Array.isArray(value)) throw new Error('must be a list of MQTT topic filters');
    const bad = value.map((f) => (typeof f === 'string' ? validateTopicFilter(f) : 'not a string')).findIndex((e) => e);
    if (bad >= 0) throw new Error(`entry ${bad} (${JSON.stringify(value[bad])}) is not a valid MQTT topic filter`);
  },
});

const envName = (path: string) => `GATEHOUSE_${path.toUpperCase().replace(/\./g, '_')}`;
const env = envName;
/** Sections validated by hand, beside the convict schema. */
const OPEN_SECTIONS = ['users', 'transports', 'devices', 'links'];

function schema() {
  return {
    site: { doc: 'Site id: the {site} of every topic.', format: 'id', default: null as unknown as string, env: env('site') },
    gateway_id: { doc: 'This gateway\'s id under site/{site}/gateway/.', format: 'id', default: 'gatehouse', env: env('gateway_id') },
    data_dir: { doc: 'Directory of the SQLite database.', format: String, default: './data', env: env('data_dir') },
    log: {
      level: { doc: 'pino log level.', format: LOG_LEVELS, default: 'info', env: env('log.level') },
    },
    broker: brokerSchema(env),
    commands: {
      timeout_ms: { doc: 'Time from acceptance to a command\'s terminal result.', format: POSITIVE_INT, default: 5000, env: env('commands.timeout_ms') },
      max_age_ms: { doc: 'Default ttl for commands that carry sent_at but no ttl_ms.', format: POSITIVE_INT, default: 30_000, env: env('commands.max_age_ms') },
      clock_skew_ms: { doc: 'Allowance for clients\' clocks.', format: NATURAL, default: 2000, env: env('commands.clock_skew_ms') },
      dedupe_window_ms: { doc: 'How long a command id is remembered.', format: POSITIVE_INT, default: 86_400_000, env: env('commands.dedupe_window_ms') },
      queue_limit: { doc: 'Commands waiting per device before new ones get `busy`.', format: POSITIVE_INT, default: 16, env: env('commands.queue_limit') },
    },
    snapshots: {
      keep: { doc: 'Snapshot files kept per camera under {data_dir}/snapshots/{camera}/; older ones are deleted.', format: POSITIVE_INT, default: 20, env: env('snapshots.keep') },
      max_bytes: { doc: 'Bytes of snapshot files kept per camera (20 MiB by default).', format: POSITIVE_INT, default: 20 * 1024 * 1024, env: env('snapshots.max_bytes') },
    },
    journal: {
      retention_days: { doc: 'Days of audit journal kept.', format: POSITIVE_INT, default: 90, env: env('journal.retention_days') },
      max_rows: { doc: 'Audit journal entries kept at most (the oldest go first); on disk about 100 bytes per event, 250 per command.', format: POSITIVE_INT, default: 1_000_000, env: env('journal.max_rows') },
    },
    metrics: {
      enabled: { doc: 'Serve Prometheus /metrics and /healthz over HTTP.', format: BOOLEAN, default: true, env: env('metrics.enabled') },
      host: { doc: 'Address the metrics HTTP server binds; it has no authentication, so beyond loopback a warning is logged.', format: String, default: '127.0.0.1', env: env('metrics.host') },
      port: { doc: 'Metrics HTTP port; 0 picks a free one.', format: PORT, default: 9464, env: env('metrics.port') },
      max_event_loop_lag_ms: { doc: '/healthz answers 503 when the event loop was blocked longer than this in the last 5 to 10 s.', format: POSITIVE_INT, default: 1000, env: env('metrics.max_event_loop_lag_ms') },
    },
    uplink: uplinkSchema(env),
    console: consoleSchema(env),
    homeassistant: homeAssistantSchema(env),
  };
}

/**
 * Turn convict's one multi-line error into issues that each name a key path, and the environment
 * variable when the value came from one (a technician looking at the file would not find it there).
 */
function convictIssues(message: string, env: NodeJS.ProcessEnv): ConfigIssue[] {
  return message
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const undeclared = /^configuration param '(.+)' not declared in the schema$/.exec(line);
      if (undeclared) return unknownKeyIssue(undeclared[1]);
      const at = line.indexOf(': ');
      if (at <= 0) return { path: '(config)', message: line };
      const path = line.slice(0, at);
      // Our formats name the value themselves (", got ..."); convict appends it once more.
      const full = line.slice(at + 2);
      const text = /, got /.test(full) ? full.replace(/: value was .*$/, '') : full;
      const variable = envName(path);
      return { path, message: env[variable] !== undefined ? `${text} (from the environment variable ${variable})` : text };
    });
}

/**
 * An unknown key in a fixed section, reported at its first unknown level (convict names the leaf:
 * `comands.timeout_ms` is reported as `comands`), with the nearest known key when it looks like a typo.
 */
function unknownKeyIssue(path: string): ConfigIssue {
  const parts = path.split('.');
  let node: unknown = schema();
  for (let i = 0; i < parts.length; i++) {
    const known = isPlainObject(node) ? Object.keys(node).filter((k) => isPlainObject((node as Record<string, unknown>)[k])) : [];
    if (!known.includes(parts[i])) {
      const candidates = i === 0 ? [...known, ...OPEN_SECTIONS] : known;
      return { path: parts.slice(0, i + 1).join('.'), message: `unknown key${suggestionFor(parts[i], candidates)}` };
    }
    node = (node as Record<string, unknown>)[parts[i]];
  }
  return { path, message: 'unknown key' };
}

/** One issue per path: several unknown leaves under one misspelt section are one problem. */
function uniqueIssues(issues: ConfigIssue[]): ConfigIssue[] {
  const seen = new Set<string>();
  return issues.filter((i) => {
    const key = `${i.path}\n${i.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

export interface LoadOptions {
  /** Path of a YAML or JSON file. */
  file?: string;
  /** An already parsed document (the demo passes its embedded config this way). */
  document?: unknown;
  /** Values that win over the file and the environment, e.g. from --data-dir. */
  overrides?: { data_dir?: string };
  env?: NodeJS.ProcessEnv;
  /** The kinds, drivers and transports a config may name (the shipped ones by default). */
  registries?: Registries;
}

export type LoadResult = { ok: true; config: Readonly<GatehouseConfig> } | { ok: false; issues: ConfigIssue[] };

export function parseConfigDocument(text: string, fileName: string): unknown {
  if (extname(fileName).toLowerCase() === '.json') return JSON.parse(text);
  return YAML.parse(text, { uniqueKeys: true, prettyErrors: true });
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

export function loadConfig(opts: LoadOptions): LoadResult {
  let document = opts.document;
  if (opts.file !== undefined) {
    try {
      document = parseConfigDocument(readFileSync(opts.file, 'utf8'), opts.file);
    } catch (err) {
      return { ok: false, issues: [{ path: opts.file, message: `cannot read config: ${(err as Error).message}` }] };
    }
  }
  if (document === null || document === undefined) document = {};
  if (!isPlainObject(document)) return { ok: false, issues: [{ path: '(root)', message: 'the config must be a mapping of keys' }] };

  const issues: ConfigIssue[] = [];
  // The open sections (lists and maps of user-named entries) are validated by hand below.
  const { users: rawUsers = [], transports: rawTransports = {}, devices: rawDevices = [], links: rawLinks = [], ...fixed } = document;
  const environment = opts.env ?? process.env;
  const c = convict(schema(), { env: environment, args: [] });
  try {
    c.load(fixed);
    if (opts.overrides?.data_dir) c.set('data_dir', opts.overrides.data_dir);
    c.validate({ allowed: 'strict' });
  } catch (err) {
    const refused = uniqueIssues(convictIssues((err as Error).message, environment));
    issues.push(...refused);
    // Rules across keys only make sense over valid values: a refused value is read as its default
    // by them (a refused `enabled: no` must not count as on and ask for what an enabled uplink needs).
    const settable = c as unknown as { default(path: string): unknown; set(path: string, value: unknown): void };
    for (const { path, message } of refused) {
      if (message.startsWith('unknown key')) continue;
      try {
        settable.set(path, settable.default(path));
      } catch {
        // not a key of the schema: nothing to read as default
      }
    }
  }
  const raw = c.getProperties() as unknown as Record<string, unknown>;
  const commands = raw.commands as GatehouseConfig['commands'];

  const userList = Array.isArray(rawUsers) ? rawUsers : (issues.push({ path: 'users', message: 'must be a list' }), []);
  const transportMap = isPlainObject(rawTransports) ? rawTransports : (issues.push({ path: 'transports', message: 'must be a mapping of name to transport' }), {});
  const deviceList = Array.isArray(rawDevices) ? rawDevices : (issues.push({ path: 'devices', message: 'must be a list' }), []);
  const users = validateUsers(userList, issues);
  const registries = opts.registries ?? builtinRegistries;
  const transports = validateTransports(transportMap, registries.transports, issues);
  const devices = validateDevices(deviceList, registries, transports, transportMap, commands.timeout_ms, issues);
  const links = validateLinks(rawLinks, devices, registries.kinds, issues);
  const uplink = validateUplink(raw.uplink as UplinkConfig, raw.site as string, raw.gateway_id as string, registries.kinds, issues);
  validateBrokerListeners(raw.broker as BrokerConfig, issues);
  validateConsole(raw.console as ConsoleConfig, raw.broker as BrokerConfig, raw.metrics as GatehouseConfig['metrics'], issues);
  validateHomeAssistant(raw.homeassistant as HomeAssistantConfig, issues);
  // An id forgotten while a copy of its command can still be valid would let that copy run again.
  const longestValidity = Math.max(commands.max_age_ms, MAX_TTL_MS) + commands.clock_skew_ms;
  if (commands.dedupe_window_ms <= longestValidity) {
    issues.push({
      path: 'commands.dedupe_window_ms',
      message: `must be longer than any command stays valid (max(max_age_ms, ${MAX_TTL_MS} ms ttl) + clock_skew_ms = ${longestValidity} ms)`,
    });
  }

  if (issues.length > 0) return { ok: false, issues };
  return { ok: true, config: deepFreeze({ ...(raw as unknown as GatehouseConfig), users, transports, devices, uplink, links }) };
}

export function formatIssues(issues: ConfigIssue[]): string {
  return issues.map((i) => `  ${i.path}: ${i.message}`).join('\n');
}
