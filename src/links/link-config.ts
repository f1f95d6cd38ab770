// The `links` section: when a device emits an event, run commands on other devices.
//
//   links:
//     - name: gate-a-snapshot            # optional; shown in results as trigger.link
//       on: { device: gate-a, event: unlocked }
//       run:
//         - { device: cam-1, command: preset, args: { preset: gate } }
//         - { device: cam-1, command: snapshot }
//
// Validated once with the rest of the config, every problem naming its key path: the devices
// exist, the event is one the source device can emit, each command exists for its device's kind
// with arguments its spec accepts, and no set of links forms a loop.

import type { ConfigIssue } from '../driver-api.js';
import { parseFields, type FieldValues } from '../config/fields.js';
import type { KindDefinition } from '../devices/kinds/types.js';
import { isValidId } from '../topics.js';
import { findLoops, type LinkEdge } from './link-graph.js';
import { isPlainObject } from '../config/plain-object.js';

export interface LinkStep {
  device: string;
  /** The target device's kind, resolved from the devices section. */
  kind: string;
  command: string;
  /** The command's arguments exactly as configured (defaults are the pipeline's business, as for any command). */
  args: FieldValues;
}

export interface LinkConfig {
  /** `name` from the config, or `links[i]`. */
  name: string;
  on: { device: string; event: string };
  run: LinkStep[];
}

/** What link validation needs to know of each configured device. */
export interface LinkDeviceInfo {
  id: string;
  kind: string;
  settings: FieldValues;
  /** Driver options as the driver normalised them. */
  options: unknown;
}

/** A link runs at most this many commands; a longer sequence is almost certainly a mistake. */
export const MAX_LINK_STEPS = 16;
const LINK_KEYS = ['name', 'on', 'run'];
const ON_KEYS = ['device', 'event'];
const STEP_KEYS = ['device', 'command', 'args'];
/** Keys of a command envelope (commands/envelope.ts); the link runner sets `id` itself. */
const ENVELOPE_KEYS = ['id', 'sent_at', 'ttl_ms'];

function unknownKeys(entry: Record<string, unknown>, allowed: readonly string[], path: string, issues: ConfigIssue[]): void {
  for (const key of Object.keys(entry)) {
    if (!allowed.includes(key)) issues.push({ path: `${path}.${key}`, message: `unknown key (allowed: ${allowed.join(', ')})` });
  }
}

/**
 * Every event type a device can emit: its kind's declared events, plus those its driver declares
 * in its options (the serial-line driver's `events: [{pattern, event}]` turns lines into events).
 */
export function eventsOf(kind: KindDefinition, options: unknown): string[] {
  const events = new Set(kind.events ?? []);
  const driverEvents = (options as { events?: unknown } | undefined)?.events;
  if (Array.isArray(driverEvents)) {
    for (const e of driverEvents) if (typeof (e as { event?: unknown })?.event === 'string') events.add((e as { event: string }).event);
  }
  return [...events];
}

/** A command's argument check, as Device.parseArgs does it at run time. */
export function parseCommandArgs(kind: KindDefinition, settings: FieldValues, command: string, args: Record<string, unknown>) {
  const definition = kind.commands[command];
  const specs = typeof definition.args === 'function' ? definition.args(settings) : definition.args;
  return parseFields(args, specs, definition.required);
}

export function validateLinks(raw: unknown, devices: readonly LinkDeviceInfo[], kinds: Readonly<Record<string, KindDefinition>>, issues: ConfigIssue[]): LinkConfig[] {
  const getKind = (name: string) => (Object.hasOwn(kinds, name) ? kinds[name] : undefined);
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw)) {
    issues.push({ path: 'links', message: 'must be a list of {on: {device, event}, run: [{device, command, args?}]}' });
    return [];
  }
  const byId = new Map(devices.map((d) => [d.id, d]));
  const defined = devices.map((d) => d.id).join(', ') || 'none';
  const links: LinkConfig[] = [];
  const edges: LinkEdge[] = [];
  const names = new Map<string, number>();

  raw.forEach((entry, i) => {
    const path = `links[${i}]`;
    if (!isPlainObject(entry)) return issues.push({ path, message: 'must be a mapping {name?, on, run}' });
    unknownKeys(entry, LINK_KEYS, path, issues);
    let valid = true;
    const fail = (issue: ConfigIssue) => {
      valid = false;
      issues.push(issue);
    };

    let name = path;
    if (entry.name !== undefined) {
      if (!isValidId(entry.name)) fail({ path: `${path}.name`, message: 'must be 1 to 64 of a-z 0-9 _ -' });
      else if (names.has(entry.name)) fail({ path: `${path}.name`, message: `duplicate link name ${JSON.stringify(entry.name)} (also links[${names.get(entry.name)}])` });
      else {
        names.set(entry.name, i);
        name = entry.name;
      }
    }

    const on = entry.on;
    let source: LinkDeviceInfo | undefined;
    if (!isPlainObject(on)) {
      fail({ path: `${path}.on`, message: 'must be a mapping {device, event}' });
    } else {
      unknownKeys(on, ON_KEYS, `${path}.on`, issues);
      source = typeof on.device === 'string' ? byId.get(on.device) : undefined;
      if (!source) fail({ path: `${path}.on.device`, message: `no device named ${JSON.stringify(on.device)} (defined: ${defined})` });
      const sourceKind = source ? getKind(source.kind) : undefined;
      if (typeof on.event !== 'string' || on.event.length === 0) {
        fail({ path: `${path}.on.event`, message: 'must be the name of an event the device emits' });
      } else if (source && sourceKind) {
        const events = eventsOf(sourceKind, source.options);
        if (!events.includes(on.event)) {
          fail({
            path: `${path}.on.event`,
            message: `a ${sourceKind.name} does not emit ${JSON.stringify(on.event)} (${events.length ? `its events: ${events.join(', ')}` : `${source.id} declares no events`})`,
          });
        }
      }
    }

    // An event the device reports from its own sensors (a camera's motion) is not caused by a
    // command, so a link on it may command that same device (motion -> its own snapshot): no loop
    // through the trigger; the runner's one-run-at-a-time bound holds as for any link.
    const sourceKind = source ? getKind(source.kind) : undefined;
    const selfAllowed = isPlainObject(on) && typeof on.event === 'string' && sourceKind?.eventDocs[on.event]?.external === true;
    const steps: LinkStep[] = [];
    if (!Array.isArray(entry.run) || entry.run.length === 0) {
      fail({ path: `${path}.run`, message: 'must be a non-empty list of {device, command, args?}' });
    } else if (entry.run.length > MAX_LINK_STEPS) {
      fail({ path: `${path}.run`, message: `at most ${MAX_LINK_STEPS} steps, got ${entry.run.length}` });
    } else {
      entry.run.forEach((step: unknown, j: number) => {
        const stepPath = `${path}.run[${j}]`;
        if (!isPlainObject(step)) return fail({ path: stepPath, message: 'must be a mapping {device, command, args?}' });
        unknownKeys(step, STEP_KEYS, stepPath, issues);
        const target = typeof step.device === 'string' ? byId.get(step.device) : undefined;
        if (!target) return fail({ path: `${stepPath}.device`, message: `no device named ${JSON.stringify(step.device)} (defined: ${defined})` });
        if (source && target.id === source.id && selfAllowed) {
          // no edge: see selfAllowed
        } else if (source && target.id === source.id) {
          fail({ path: `${stepPath}.device`, message: `a link must not command the device that triggers it (${target.id}): it could trigger itself without end` });
        } else if (source) {
          edges.push({ from: source.id, to: target.id, link: i });
        }
        const kind = getKind(target.kind);
        if (!kind) return fail({ path: `${stepPath}.device`, message: `device ${target.id} has an unknown kind` });
        const command = step.command;
        if (typeof command !== 'string' || !Object.hasOwn(kind.commands, command)) {
          return fail({ path: `${stepPath}.command`, message: `a ${kind.name} has no command ${JSON.stringify(command)} (known: ${Object.keys(kind.commands).join(', ')})` });
        }
        const args = step.args ?? {};
        if (!isPlainObject(args)) return fail({ path: `${stepPath}.args`, message: 'must be a mapping of the command\'s arguments' });
        for (const key of ENVELOPE_KEYS) {
          if (Object.hasOwn(args, key)) fail({ path: `${stepPath}.args.${key}`, message: 'not an argument: linked commands get their id from the link runner and run at once' });
        }
        const parsed = parseCommandArgs(kind, target.settings, command, Object.fromEntries(Object.entries(args).filter(([k]) => !ENVELOPE_KEYS.includes(k))));
        for (const p of parsed.problems) fail({ path: `${stepPath}.args.${p.key}`, message: p.message });
        steps.push({ device: target.id, kind: kind.name, command, args: args as FieldValues });
      });
    }

    if (valid && source && isPlainObject(on)) links.push({ name, on: { device: source.id, event: on.event as string }, run: steps });
  });

  for (const loop of findLoops(edges)) {
    issues.push({
      path: `links[${loop.links[0]}]`,
      message: `links ${loop.links.map((l) => `links[${l}]`).join(', ')} form a loop among devices ${loop.devices.join(', ')}: their commands could trigger each other without end`,
    });
  }
  return links;
}
