// The Home Assistant entities of a device, derived from its kind definition (src/devices/kinds/):
// every state field a sensor (or a binary sensor where the field is two-valued), every command
// that can run without arguments a button, the kind's events one `event` entity, a kind that takes
// snapshots a `camera`. A new kind brings its entities with it; FIELD_HINTS only refines fields.
import type { KindDefinition } from '../devices/kinds/types.js';
import type { FieldSpec } from '../config/fields.js';

/** One entry of the `components` map of a device discovery payload, with topics still to fill in. */
export type EntitySpec =
  | { key: string; platform: 'sensor'; name: string; field: string; extra?: Record<string, unknown> }
  | { key: string; platform: 'binary_sensor'; name: string; field: string; on: unknown; off: unknown; device_class?: string }
  | { key: string; platform: 'button'; name: string; command: string; payload: Record<string, unknown> }
  | { key: string; platform: 'event'; name: string; eventTypes: readonly string[] }
  | { key: string; platform: 'camera'; name: string };

type FieldHint = { skip: true } | { binary: { on: unknown; off: unknown; device_class?: string } } | { sensor: Record<string, unknown> };

/**
 * Fields refined by name. Times (`*_at`, `*_until`) and the camera's description of itself are not
 * entities: they are epoch ms or objects, and what the camera is belongs to its device page.
 */
const FIELD_HINTS: Record<string, FieldHint> = {
  door: { binary: { on: 'open', off: 'closed', device_class: 'door' } },
  vehicle_present: { binary: { on: true, off: false, device_class: 'occupancy' } },
  moving: { binary: { on: true, off: false, device_class: 'moving' } },
  motion: { binary: { on: true, off: false, device_class: 'motion' } },
  tamper: { binary: { on: true, off: false, device_class: 'tamper' } },
  // The camera's event subscription ("subscribed", "retrying", ...): how the camera is doing, not what it sees.
  events: { sensor: { entity_category: 'diagnostic' } },
  // A map of input token to true/false: no single state; the input_active/input_inactive events carry each change.
  inputs: { skip: true },
  passages_in: { sensor: { state_class: 'total_increasing' } },
  passages_out: { sensor: { state_class: 'total_increasing' } },
  clock_offset_ms: { sensor: { unit_of_measurement: 'ms', device_class: 'duration', entity_category: 'diagnostic' } },
  manufacturer: { skip: true },
  model: { skip: true },
  firmware: { skip: true },
  serial_number: { skip: true },
  hardware_id: { skip: true },
  profile: { skip: true },
  ptz: { skip: true },
  stream_uri: { skip: true },
  snapshot_uri: { skip: true },
};

/** Arguments a button may leave out: the device's configured default applies. */
const DEFAULTED_ARGS = new Set(['duration_ms']);

function title(words: string): string {
  const text = words.replace(/_/g, ' ');
  return text.charAt(0).toUpperCase() + text.slice(1);
}

function isTime(field: string): boolean {
  return field.endsWith('_at') || field.endsWith('_until');
}

function stateEntities(kind: KindDefinition): EntitySpec[] {
  const out: EntitySpec[] = [];
  for (const field of Object.keys(kind.state)) {
    const hint = FIELD_HINTS[field];
    if (isTime(field) || (hint && 'skip' in hint)) continue;
    if (hint && 'binary' in hint) out.push({ key: field, platform: 'binary_sensor', name: title(field), field, ...hint.binary });
    else out.push({ key: field, platform: 'sensor', name: title(field), field, ...(hint && 'sensor' in hint ? { extra: hint.sensor } : {}) });
  }
  return out;
}

/**
 * A button per command a press can run as it is: no arguments, or only ones with a configured
 * default; a command whose one required argument is an enum gets a button per value (turnstile
 * `pass`: "Pass in", "Pass out"). Commands needing other input (ptz, preset) have no button.
 */
function buttons(kind: KindDefinition): EntitySpec[] {
  const out: EntitySpec[] = [];
  for (const [command, definition] of Object.entries(kind.commands)) {
    // Limits that depend on settings do not change which arguments there are: any settings do.
    const args: Record<string, FieldSpec> = typeof definition.args === 'function' ? definition.args(new Proxy({}, { get: () => 1 })) : definition.args;
    const required = definition.required ?? [];
    const others = Object.keys(args).filter((name) => !required.includes(name) && !DEFAULTED_ARGS.has(name));
    if (others.length > 0) continue;
    if (required.length === 0) {
      out.push({ key: `${command}_button`, platform: 'button', name: title(command), command, payload: {} });
      continue;
    }
    const spec = args[required[0]];
    if (required.length !== 1 || spec?.type !== 'enum') continue;
    for (const value of spec.values) {
      out.push({ key: `${command}_${value}_button`, platform: 'button', name: title(`${command} ${value}`), command, payload: { [required[0]]: value } });
    }
  }
  return out;
}

export function entitiesOf(kind: KindDefinition): EntitySpec[] {
  const out = [...stateEntities(kind), ...buttons(kind)];
  if (kind.events.length > 0) out.push({ key: 'event', platform: 'event', name: 'Event', eventTypes: kind.events });
  // Snapshots go to the kind's image topic (site/{site}/camera/{device}/image).
  if ('snapshot' in kind.commands) out.push({ key: 'image', platform: 'camera', name: 'Snapshot' });
  return out;
}
