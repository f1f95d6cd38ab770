// The gateway's own commands (src/devices/kinds/gateway.ts) run on the running gateway. The gateway
// is a command target of the one pipeline like any device (validation, ACL or allow-list,
// de-duplication, expiry, one result, the journal); only what runs differs: no driver, no
// transport, but the gateway's registry, journal, outbox and config.
import { createHash } from 'node:crypto';
import type { CommandTarget } from '../commands/pipeline.js';
import type { Journal, JournalType } from '../commands/journal.js';
import { CommandRejection, type ResultCode } from '../commands/result.js';
import type { GatehouseConfig } from '../config.js';
import { parseFields, type FieldProblem, type FieldValues } from '../config/fields.js';
import { redactConfig } from '../config/redact.js';
import type { Device } from '../devices/device.js';
import { gatewayCommands, gatewayKind, type GatewayServices } from '../devices/kinds/gateway.js';
import { DeviceError } from '../driver-api.js';
import { gatewayStatus } from '../metrics/gateway-status.js';
import type { RecentActivity } from '../metrics/recent-activity.js';
import type { ReloadOutcome } from '../service/reload-config.js';
import type { ReloadPlan } from '../service/reload.js';
import { GATEWAY_KIND } from '../topics.js';
import type { Uplink } from '../uplink/uplink.js';
import { VERSION } from '../version.js';
import type { DeviceRegistry } from './device-registry.js';
import { dataBudget, fitList, jsonBytes } from './gateway-commands-bounds.js';

/**
 * A gateway command's timeout: commands.timeout_ms, but never less than this; a reload waits for
 * new links to connect and new devices to reach their safe state, a resync for every device's read.
 */
export const GATEWAY_COMMAND_TIMEOUT_MS = 60_000;

/** Config errors named in a refused reload's message; all of them are in its `data.errors`. */
const ERRORS_IN_MESSAGE = 3;

export interface GatewayCommandsDeps {
  /** The running config (a reload replaces it). */
  config(): Readonly<GatehouseConfig>;
  devices: DeviceRegistry;
  /** The gateway state as site/{site}/gateway/{id}/state carries it. */
  gatewayState(): Record<string, unknown>;
  session: number;
  startedAt: number;
  recent: RecentActivity;
  journal: Journal;
  uplink: Uplink | undefined;
  /** Re-read the config files and apply them, as SIGHUP does. */
  reload(): Promise<ReloadOutcome>;
  /** Publishes a device's current state and availability (retained). */
  announce(device: Device): Promise<void>;
}

export class GatewayCommands implements GatewayServices {
  readonly target: GatewayCommandTarget;

  constructor(private readonly deps: GatewayCommandsDeps) {
    this.target = new GatewayCommandTarget(deps.config().gateway_id, this, () => Math.max(deps.config().commands.timeout_ms, GATEWAY_COMMAND_TIMEOUT_MS));
  }

  /** The pipeline's findDevice, with this gateway under (gateway, its id) beside the devices. */
  find(kind: string, id: string): CommandTarget | undefined {
    if (kind === GATEWAY_KIND) return id === this.target.id ? this.target : undefined;
    return this.deps.devices.find(kind, id);
  }

  /** The pipeline's describeDevice: the kind of whatever has this id. */
  describe(id: string): string | undefined {
    return this.deps.devices.get(id)?.kind.name ?? (id === this.target.id ? GATEWAY_KIND : undefined);
  }

  /** Bytes a result's `data` may take now (the cloud's limit is known once connected under MQTT 5). */
  budget(): number {
    const cloud = this.deps.uplink?.stateFields().uplink.broker_limits?.maximum_packet_size;
    return dataBudget([this.deps.config().broker.limits.max_packet_bytes, cloud]);
  }

  status(): Record<string, unknown> {
    const { site, gateway_id } = this.deps.config();
    const doc = gatewayStatus({
      version: VERSION,
      startedAt: this.deps.startedAt,
      identity: () => ({ site, gateway_id, session: this.deps.session }),
      devices: () => this.deps.devices.values(),
      recent: this.deps.recent,
    });
    const head = { site: doc.site, gateway_id: doc.gateway_id, version: doc.version, session: doc.session, started_at: doc.started_at, now: doc.now, gateway: this.deps.gatewayState() };
    return fitList(doc.devices, this.budget(), (kept, more) => ({ ...head, devices: kept, events: doc.events, refusals: doc.refusals, ...(more ? { more: true } : {}) }));
  }

  devices(): Record<string, unknown> {
    const entries = this.deps.config().devices.map((d) => {
      const device = this.deps.devices.get(d.id);
      return {
        id: d.id,
        kind: d.kind,
        name: d.name,
        driver: d.driver,
        transport: d.transport,
        description: device?.kind.description ?? null,
        availability: device?.availability ?? 'offline',
      };
    });
    return fitList(entries, this.budget(), (kept, more) => ({ count: entries.length, devices: kept, ...(more ? { more: true } : {}) }));
  }

  journal(q: { since?: number; until?: number; device?: string; type?: string; limit: number }): Record<string, unknown> {
    // One row more than asked for says whether older rows match too.
    const rows = this.deps.journal.query({ ...q, type: q.type as JournalType | undefined, limit: q.limit + 1 });
    const older = rows.length > q.limit;
    const candidates = older ? rows.slice(1) : rows;
    return fitList(candidates, this.budget(), (kept, cut) => ({ count: kept.length, rows: kept, ...(older || cut ? { more: true } : {}) }), 'last');
  }

  outbox(): Record<string, unknown> {
    const fields = this.deps.uplink?.stateFields();
    return fields ? { enabled: true, ...fields } : { enabled: false };
  }

  async reload(): Promise<Record<string, unknown>> {
    const outcome = await this.deps.reload();
    if (outcome.applied) return { applied: true, ...describePlan(outcome.plan) };
    if ('error' in outcome) throw new CommandRejection('device_error', `reload not applied: ${outcome.error}`, { applied: false });
    const { issues } = outcome;
    const named = issues.slice(0, ERRORS_IN_MESSAGE).map((i) => `${i.path}: ${i.message}`).join('; ');
    const rest = issues.length > ERRORS_IN_MESSAGE ? `; and ${issues.length - ERRORS_IN_MESSAGE} more in data.errors` : '';
    const data = fitList(issues, this.budget() - 1024, (kept, more) => ({ applied: false, count: issues.length, errors: kept, ...(more ? { more: true } : {}) }));
    throw new CommandRejection('device_error', `config refused, the running config stays: ${issues.length} problem(s): ${named}${rest}`, data);
  }

  async resync(id: string | undefined): Promise<Record<string, unknown>> {
    let targets: Device[];
    if (id === undefined) {
      targets = [...this.deps.devices.values()];
    } else {
      const device = this.deps.devices.get(id);
      if (!device) throw new CommandRejection('unknown_device', `no device named ${id} (known: ${[...this.deps.devices.values()].map((d) => d.id).join(', ') || 'none'})`);
      targets = [device];
    }
    const reports = await Promise.all(targets.map((device) => this.resyncOne(device)));
    const data = fitList(reports, this.budget(), (kept, more) => ({ devices: kept, ...(more ? { more: true } : {}) }));
    // One device asked for and not read: the result says why, with its code.
    const failed = id !== undefined ? reports[0] : undefined;
    if (failed && !failed.ok) throw new CommandRejection(failed.code, `${failed.kind} ${failed.id} not read: ${failed.error}`, data);
    return data;
  }

  config(): Record<string, unknown> {
    const redacted = redactConfig(this.deps.config());
    const hash = configHash(redacted);
    const data = { hash, config: redacted };
    if (jsonBytes(data) <= this.budget()) return data;
    return { hash, more: true, bytes: jsonBytes(redacted) };
  }

  private async resyncOne(device: Device): Promise<{ id: string; kind: string; availability: string; ok: boolean; code: ResultCode; state?: Record<string, unknown>; error?: string }> {
    let error: unknown;
    try {
      await device.refresh();
    } catch (err) {
      error = err;
    }
    // Fresh state and availability either way: a device that did not answer may have gone offline.
    await this.deps.announce(device);
    const base = { id: device.id, kind: device.kind.name, availability: device.availability };
    if (error === undefined) return { ...base, ok: true, code: 'device_error', state: device.state() };
    const code: ResultCode = error instanceof DeviceError ? error.code : 'device_error';
    return { ...base, ok: false, code, error: error instanceof Error ? error.message : String(error) };
  }
}

/** The gateway as a CommandTarget of the pipeline: always online, its commands run on GatewayServices. */
export class GatewayCommandTarget implements CommandTarget {
  readonly kind = gatewayKind;
  readonly availability = 'online' as const;

  constructor(
    readonly id: string,
    private readonly services: GatewayServices,
    private readonly timeoutMs: () => number,
  ) {}

  get config(): { command_timeout_ms: number } {
    return { command_timeout_ms: this.timeoutMs() };
  }

  parseArgs(command: string, args: Record<string, unknown>): { values: FieldValues; problems: FieldProblem[] } {
    const definition = gatewayCommands[command];
    const parsed = parseFields(args, definition.args, definition.required);
    if (parsed.problems.length === 0 && definition.check) parsed.problems.push(...definition.check(parsed.values));
    return parsed;
  }

  execute(command: string, args: FieldValues, signal: AbortSignal): Promise<Record<string, unknown>> {
    return gatewayCommands[command].run(this.services, args, signal);
  }
}

function describePlan(plan: ReloadPlan): Record<string, unknown> {
  const { devices, transports, links, access, settings, needsRestart } = plan;
  const changed =
    devices.added.length + devices.removed.length + devices.changed.length + transports.added.length + transports.removed.length + transports.changed.length > 0 ||
    links ||
    access ||
    settings;
  return {
    changed,
    devices: { added: devices.added, removed: devices.removed, changed: devices.changed },
    transports,
    links,
    access,
    settings,
    needs_restart: needsRestart,
  };
}

/** JSON with every object's keys sorted: the same config gives the same text whatever its key order. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, (v as Record<string, unknown>)[k]])) : v,
  );
}

/** `sha256:` and the hex digest of the (redacted) config's canonical JSON. */
export function configHash(redacted: unknown): string {
  return `sha256:${createHash('sha256').update(canonicalJson(redacted)).digest('hex')}`;
}
