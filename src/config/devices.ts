// The open sections of the config that name hardware: `transports` (each entry checked by the
// definition its `type` names) and `devices` (kind, driver and transport looked up in the
// registries, the kind's settings and sections, the driver's options). Every problem is reported
// with its key path, a device named by its id: `devices[main-gate].transport`.
import type { ConfigIssue } from '../driver-api.js';
import { entryOf, type Registries } from '../registries.js';
import { isValidId } from '../topics.js';
import type { TransportConfig } from '../transport/registry.js';
import { parseFields, type FieldValues } from './fields.js';
import { isPlainObject } from './plain-object.js';
import { suggestionFor } from './suggest.js';

export interface DeviceConfig {
  id: string;
  kind: string;
  name: string;
  driver: string;
  transport: string;
  poll_ms: number;
  offline_after: number;
  command_timeout_ms: number;
  /** Settings of the device's kind (gate: on_start, unlock_ms, ...), defaults applied. */
  settings: FieldValues;
  /** Driver options as the driver normalised them. */
  options: unknown;
  /** The kind's config sections (a camera's `events`), parsed, defaults applied. */
  sections: Record<string, unknown>;
}

/** `transports.<name>`: each entry validated by the definition its `type` names. */
export function validateTransports(raw: Record<string, unknown>, registry: Registries['transports'], issues: ConfigIssue[]): Record<string, TransportConfig> {
  const transports: Record<string, TransportConfig> = {};
  for (const [name, entry] of Object.entries(raw)) {
    const path = `transports.${name}`;
    if (!isValidId(name)) issues.push({ path, message: 'transport names must be 1 to 64 of a-z 0-9 _ -' });
    if (!isPlainObject(entry)) {
      issues.push({ path, message: 'must be an object with a `type`' });
      continue;
    }
    const definition = typeof entry.type === 'string' && Object.hasOwn(registry, entry.type) ? registry[entry.type] : undefined;
    if (!definition) {
      issues.push({ path: `${path}.type`, message: unknownName('transport type', entry.type, Object.keys(registry)) });
      continue;
    }
    transports[name] = definition.parse(entry, path, issues) as TransportConfig;
  }
  return transports;
}

function ordinal(index: number): string {
  const n = index + 1;
  const suffix = n % 100 >= 11 && n % 100 <= 13 ? 'th' : (['th', 'st', 'nd', 'rd'][n % 10] ?? 'th');
  return `${n}${suffix}`;
}

function unknownName(what: string, value: unknown, known: string[]): string {
  const hint = typeof value === 'string' ? suggestionFor(value, known) : '';
  return `unknown ${what} ${JSON.stringify(value)}${hint} (known: ${known.join(', ')})`;
}

const DEVICE_COMMON = ['id', 'kind', 'name', 'driver', 'transport', 'poll_ms', 'offline_after', 'command_timeout_ms', 'options'];

export function validateDevices(
  raw: unknown[],
  registries: Registries,
  transports: Record<string, TransportConfig>,
  rawTransports: Record<string, unknown>,
  defaultTimeoutMs: number,
  issues: ConfigIssue[],
): DeviceConfig[] {
  const devices: DeviceConfig[] = [];
  const seen = new Map<string, number>();
  raw.forEach((entry, i) => {
    if (!isPlainObject(entry)) return issues.push({ path: `devices[${i}]`, message: 'must be an object' });
    const { id, kind: kindName, driver: driverName, transport, name, options = {} } = entry;
    // A device is named by its id where it has a usable one: `devices[main-gate].transport`.
    const path = isValidId(id) && !seen.has(id) ? `devices[${id}]` : `devices[${i}]`;
    if (!isValidId(id)) issues.push({ path: `${path}.id`, message: `must be 1 to 64 of a-z 0-9 _ -, got ${JSON.stringify(id)}` });
    else if (seen.has(id)) issues.push({ path: `${path}.id`, message: `duplicate device id ${JSON.stringify(id)} (also the ${ordinal(seen.get(id)!)} device)` });
    else seen.set(id, i);
    if (name !== undefined && typeof name !== 'string') issues.push({ path: `${path}.name`, message: 'must be a string' });

    const kind = entryOf(registries.kinds, kindName);
    if (!kind) issues.push({ path: `${path}.kind`, message: unknownName('kind', kindName, Object.keys(registries.kinds)) });
    const driver = entryOf(registries.drivers, driverName);
    if (!driver) issues.push({ path: `${path}.driver`, message: unknownName('driver', driverName, Object.keys(registries.drivers)) });
    if (typeof transport !== 'string' || !Object.hasOwn(rawTransports, transport)) {
      const defined = Object.keys(rawTransports);
      const hint = typeof transport === 'string' ? suggestionFor(transport, defined) : '';
      issues.push({ path: `${path}.transport`, message: `no transport named ${JSON.stringify(transport)}${hint} (defined: ${defined.join(', ') || 'none'})` });
    } else if (driver && transports[transport] && !driver.transports.includes(transports[transport].type)) {
      issues.push({ path: `${path}.transport`, message: `driver ${driver.name} cannot run over a ${transports[transport].type} transport` });
    }
    const missingActions = kind && driver ? (kind.actions ?? []).filter((a) => !(driver.actions ?? []).includes(a)) : [];
    if (missingActions.length > 0) {
      issues.push({ path: `${path}.driver`, message: `driver ${driver!.name} cannot run a ${kind!.name} (it lacks ${missingActions.join(', ')})` });
    }

    const common = parseFields(
      Object.fromEntries(Object.entries(entry).filter(([k]) => ['poll_ms', 'offline_after', 'command_timeout_ms'].includes(k))),
      {
        poll_ms: { type: 'int', min: 50, max: 3_600_000, default: 1000 },
        offline_after: { type: 'int', min: 1, max: 1000, default: 3 },
        command_timeout_ms: { type: 'int', min: 100, max: 600_000, default: defaultTimeoutMs },
      },
    );
    for (const p of common.problems) issues.push({ path: `${path}.${p.key}`, message: p.message });

    let settings: FieldValues = {};
    const sections: Record<string, unknown> = {};
    if (kind) {
      const sectionDefs = kind.sections ?? {};
      for (const [key, section] of Object.entries(sectionDefs)) sections[key] = section.parse(entry[key], `${path}.${key}`, issues);
      const kindKeys = Object.fromEntries(Object.entries(entry).filter(([k]) => !DEVICE_COMMON.includes(k) && !Object.hasOwn(sectionDefs, k)));
      const parsed = parseFields(kindKeys, kind.settings);
      for (const p of parsed.problems) {
        const allowed = [...DEVICE_COMMON, ...Object.keys(kind.settings), ...Object.keys(sectionDefs)];
        const message = p.message.startsWith('unknown key')
          ? `unknown key for a ${kind.name}${suggestionFor(p.key, allowed)} (allowed: ${allowed.join(', ')})`
          : p.message;
        issues.push({ path: `${path}.${p.key}`, message });
      }
      settings = parsed.values;
      // The kind's cross-field checks (gate: unlock_ms <= max_unlock_ms); a setting with a problem above is absent here.
      for (const p of kind.check(settings)) issues.push({ path: `${path}.${p.key}`, message: p.message });
    }
    let parsedOptions: unknown;
    if (kind && driver) {
      const result = driver.parseOptions(options, kind.points, `${path}.options`);
      issues.push(...result.issues);
      parsedOptions = result.options;
    }
    const transportConfig = typeof transport === 'string' ? transports[transport] : undefined;
    if (transportConfig && parsedOptions !== undefined) {
      for (const problem of registries.transports[transportConfig.type].checkDevice?.(transportConfig, parsedOptions) ?? []) {
        issues.push({ path: `${path}.${problem.key}`, message: problem.message });
      }
    }
    devices.push({
      id: id as string,
      kind: kindName as string,
      name: typeof name === 'string' ? name : (id as string),
      driver: driverName as string,
      transport: transport as string,
      poll_ms: common.values.poll_ms as number,
      offline_after: common.values.offline_after as number,
      command_timeout_ms: common.values.command_timeout_ms as number,
      settings,
      options: parsedOptions,
      sections,
    });
  });
  return devices;
}
