// The gateway itself as a kind (DESIGN.md section 2: "the gateway is itself a device of kind
// gateway"): no driver, transport, points or polling. Its commands ask the gateway about itself or
// act on it; each is defined once here with its doc and argument schema, and runs on the services
// of the running gateway (src/gateway/gateway-commands.ts), through the one command pipeline.
// Not in the registry of device kinds (./index.ts): no device of the config is a gateway.
import { JOURNAL_TYPES } from '../../commands/journal.js';
import type { FieldProblem, FieldSpecs, FieldValues } from '../../config/fields.js';
import type { CommandDefinition, KindDefinition } from './types.js';

/** `journal`: rows per result by default, and at most. */
export const JOURNAL_DEFAULT_LIMIT = 100;
export const JOURNAL_MAX_LIMIT = 500;

const EPOCH_MS = { type: 'int', min: 0, max: Number.MAX_SAFE_INTEGER } as const;
const DEVICE_ID = { type: 'string', maxLength: 64 } as const;

/** What the gateway's commands run on: the running gateway, as src/gateway/gateway-commands.ts gives it. */
export interface GatewayServices {
  status(): Record<string, unknown>;
  devices(): Record<string, unknown>;
  journal(query: { since?: number; until?: number; device?: string; type?: string; limit: number }): Record<string, unknown>;
  outbox(): Record<string, unknown>;
  reload(): Promise<Record<string, unknown>>;
  resync(device: string | undefined, signal: AbortSignal): Promise<Record<string, unknown>>;
  config(): Record<string, unknown>;
}

export interface GatewayCommand extends Omit<CommandDefinition, 'run'> {
  args: FieldSpecs;
  /** Checks across arguments (defaults applied), each problem naming its key. */
  check?(args: FieldValues): FieldProblem[];
  /** What the result's `data` carries, for the docs. */
  data: string;
  run(gateway: GatewayServices, args: FieldValues, signal: AbortSignal): Promise<Record<string, unknown>>;
}

export const gatewayCommands: Record<string, GatewayCommand> = {
  status: {
    doc: 'The gateway state and every device with its availability and last state (what `gatehouse status` shows).',
    args: {},
    data: '`gateway` (the gateway state), `devices` (kind, id, name, availability, state), `events` and `refusals` (the latest), `more` when devices were left out',
    run: async (gw) => gw.status(),
  },
  devices: {
    doc: 'The configured devices with their kind, driver, transport and description.',
    args: {},
    data: '`devices` (id, kind, name, driver, transport, description, availability), `more` when devices were left out',
    run: async (gw) => gw.devices(),
  },
  journal: {
    doc: `Rows of the audit journal, newest ${JOURNAL_DEFAULT_LIMIT} by default (at most ${JOURNAL_MAX_LIMIT}), returned oldest first.`,
    args: {
      since: EPOCH_MS,
      until: EPOCH_MS,
      device: DEVICE_ID,
      type: { type: 'enum', values: JOURNAL_TYPES },
      limit: { type: 'int', min: 1, max: JOURNAL_MAX_LIMIT, default: JOURNAL_DEFAULT_LIMIT },
    },
    check: (args) =>
      args.since !== undefined && args.until !== undefined && (args.since as number) > (args.until as number)
        ? [{ key: 'until', message: `must not be before since (${args.since}), got ${args.until}` }]
        : [],
    data: '`rows` (oldest first), `count`, `more: true` when older matching rows were left out (ask again with `until`)',
    run: async (gw, args) =>
      gw.journal({
        limit: args.limit as number,
        ...(args.since !== undefined ? { since: args.since as number } : {}),
        ...(args.until !== undefined ? { until: args.until as number } : {}),
        ...(args.device !== undefined ? { device: args.device as string } : {}),
        ...(args.type !== undefined ? { type: args.type as string } : {}),
      }),
  },
  outbox: {
    doc: 'The outbox figures (depth, bytes, oldest, drops) and the cloud link state, as on the gateway state topic.',
    args: {},
    data: '`enabled` (the uplink), and with it `outbox` and `uplink`',
    run: async (gw) => gw.outbox(),
  },
  reload: {
    doc: 'Re-read the config files and apply them, as SIGHUP does; an invalid config is refused whole and the running one stays.',
    args: {},
    data: '`applied` (true or false); when applied what changed (`devices`, `transports`, `links`, `access`, `settings`, `needs_restart`); when refused `errors` (every problem, with its key)',
    run: (gw) => gw.reload(),
  },
  resync: {
    doc: 'Read the device (or every device) now and publish its fresh state and availability.',
    args: { device: DEVICE_ID },
    data: '`devices` (id, kind, availability, `ok`, state or `error`)',
    run: (gw, args, signal) => gw.resync(args.device as string | undefined, signal),
  },
  config: {
    doc: 'The running config with every secret redacted, and its hash (sha256 of its canonical JSON) to compare sites.',
    args: {},
    data: '`hash` (`sha256:` and hex), `config` (redacted), or `more: true` and no `config` when it is larger than a result may be',
    run: async (gw) => gw.config(),
  },
};

/** Fields of the gateway state (site/{site}/gateway/{gateway}/state). */
const GATEWAY_STATE_FIELDS: Record<string, string> = {
  version: 'The gatehouse version.',
  session: 'How many times this data dir has started a gateway.',
  started_at: 'When this run started, epoch ms.',
  uptime_s: 'Seconds since then.',
  devices: '{total, online, offline}.',
  outbox: 'With the uplink: the outbox figures (depth, bytes, oldest_age_s, dropped, ...).',
  uplink: 'With the uplink: the cloud link state (state, connection, last_error, protocol, ...).',
};

export const gatewayKind: KindDefinition = {
  name: 'gateway',
  description: 'the gateway itself: asked about its devices, journal, outbox and config, told to reload or resync',
  points: { outputs: { required: [], optional: [] }, inputs: { required: [], optional: [] } },
  settings: {},
  check: () => [],
  commands: gatewayCommands as unknown as Record<string, CommandDefinition>,
  events: ['outbox_overflow'],
  eventDocs: { outbox_overflow: { doc: 'The outbox dropped messages at its bounds (see docs/uplink.md).' } },
  state: GATEWAY_STATE_FIELDS,
  safeState: {},
  createBehaviour: () => {
    throw new Error('the gateway kind has no behaviour: no device of the config is a gateway');
  },
};
