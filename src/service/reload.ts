// What a configuration reload (SIGHUP) changes: a plan computed from the running config and a new,
// already validated one. Devices, transports, links, users, anonymous access and the commands and
// journal settings change at run time; every other key keeps its running value until the next restart.
import { isDeepStrictEqual } from 'node:util';
import type { GatehouseConfig } from '../config.js';
import { isPlainObject } from '../config/plain-object.js';

/** Top-level sections applied at run time, and `broker.anonymous`; the rest needs a restart. */
const RUNTIME_SECTIONS = ['devices', 'transports', 'links', 'users', 'commands', 'journal'] as const;
const RUNTIME_BROKER_KEYS = ['anonymous'] as const;

export interface ReloadPlan {
  /** The config after the reload: the new one, with every restart-only key at its running value. */
  effective: Readonly<GatehouseConfig>;
  /** Key paths whose new value is ignored until a restart (e.g. `broker.port`, `uplink.url`). */
  needsRestart: string[];
  transports: { added: string[]; removed: string[]; changed: string[] };
  /** `changed` includes devices whose own entry is the same but whose transport changed. */
  devices: { added: string[]; removed: string[]; changed: string[]; unchanged: string[] };
  /** The links differ: the running set is replaced whole. */
  links: boolean;
  /** users or broker.anonymous differ. */
  access: boolean;
  /** commands or journal settings differ. */
  settings: boolean;
}

/** Key paths under which `a` and `b` differ; lists and scalars are compared whole. */
export function differingPaths(a: unknown, b: unknown, prefix = ''): string[] {
  if (isPlainObject(a) && isPlainObject(b)) {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    return [...keys].flatMap((key) => differingPaths(a[key], b[key], prefix ? `${prefix}.${key}` : key));
  }
  return isDeepStrictEqual(a, b) ? [] : [prefix || '(root)'];
}

function restartOnlyPart(config: Readonly<GatehouseConfig>): Record<string, unknown> {
  const rest: Record<string, unknown> = { ...config };
  for (const section of RUNTIME_SECTIONS) delete rest[section];
  const broker: Record<string, unknown> = { ...config.broker };
  for (const key of RUNTIME_BROKER_KEYS) delete broker[key];
  rest.broker = broker;
  return rest;
}

function diffKeys<T>(current: Record<string, T>, next: Record<string, T>): { added: string[]; removed: string[]; changed: string[]; unchanged: string[] } {
  const added = Object.keys(next).filter((k) => !Object.hasOwn(current, k));
  const removed = Object.keys(current).filter((k) => !Object.hasOwn(next, k));
  const common = Object.keys(next).filter((k) => Object.hasOwn(current, k));
  const changed = common.filter((k) => !isDeepStrictEqual(current[k], next[k]));
  const unchanged = common.filter((k) => isDeepStrictEqual(current[k], next[k]));
  return { added, removed, changed, unchanged };
}

export function planReload(current: Readonly<GatehouseConfig>, next: Readonly<GatehouseConfig>): ReloadPlan {
  const needsRestart = differingPaths(restartOnlyPart(current), restartOnlyPart(next));
  const effective = Object.freeze({
    ...current,
    devices: next.devices,
    transports: next.transports,
    links: next.links,
    users: next.users,
    commands: next.commands,
    journal: next.journal,
    broker: Object.freeze({ ...current.broker, anonymous: next.broker.anonymous }),
  }) as Readonly<GatehouseConfig>;

  const transports = diffKeys(current.transports, next.transports);
  const byId = (config: Readonly<GatehouseConfig>) => Object.fromEntries(config.devices.map((d) => [d.id, d]));
  const devices = diffKeys(byId(current), byId(next));
  // A device on a transport that is rebuilt is rebuilt with it: its driver holds the old link.
  const onChangedTransport = devices.unchanged.filter((id) => transports.changed.includes(byId(next)[id].transport));
  return {
    effective,
    needsRestart,
    transports: { added: transports.added, removed: transports.removed, changed: transports.changed },
    devices: {
      added: devices.added,
      removed: devices.removed,
      changed: [...devices.changed, ...onChangedTransport],
      unchanged: devices.unchanged.filter((id) => !onChangedTransport.includes(id)),
    },
    links: !isDeepStrictEqual(current.links, next.links),
    access: !isDeepStrictEqual(current.users, next.users) || !isDeepStrictEqual(current.broker.anonymous, next.broker.anonymous),
    settings: !isDeepStrictEqual(current.commands, next.commands) || !isDeepStrictEqual(current.journal, next.journal),
  };
}
