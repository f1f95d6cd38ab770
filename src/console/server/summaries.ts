// DeviceSummary (docs/console-api.md): a device's state in words, its last event and result, and
// the commands this user may send to it: exactly those their publish ACL allows (the broker's own
// matching, src/broker/acl.ts, on the topic from src/topics.ts).
import type { FieldSpec, FieldSpecs } from '../../config/fields.js';
import type { Device } from '../../devices/device.js';
import { describeDeviceState } from '../../devices/describe-state.js';
import { topics } from '../../topics.js';
import type { ConsoleUser } from './context.js';
import type { DeviceActivity, LastEvent } from './device-activity.js';

export interface CommandArg {
  name: string;
  type: 'integer' | 'string' | 'number' | 'boolean';
  min?: number;
  max?: number;
  values?: readonly string[];
  default?: number | string;
  required: boolean;
}

export interface CommandInfo {
  name: string;
  description: string;
  args: CommandArg[];
}

export interface DeviceSummary {
  id: string;
  kind: string;
  description?: string;
  availability: string;
  state: Record<string, unknown>;
  summary: string;
  last_event?: LastEvent;
  last_result?: { id: string; command: string; code: string; message?: string; at: number; source: string };
  commands: CommandInfo[];
}

function argOf(name: string, spec: FieldSpec, required: readonly string[]): CommandArg {
  const base = { name, required: required.includes(name), ...(spec.default !== undefined ? { default: spec.default } : {}) };
  switch (spec.type) {
    case 'int':
      return { ...base, type: 'integer', min: spec.min, max: spec.max };
    case 'number':
      return { ...base, type: 'number', min: spec.min, max: spec.max };
    case 'enum':
      return { ...base, type: 'string', values: spec.values };
    case 'string':
      return { ...base, type: 'string', max: spec.maxLength };
  }
}

/** May `user` send `command` to `device`? The broker's ACL decides, on the command's MQTT topic. */
export function mayCommand(user: ConsoleUser, site: string, device: Device, command: string): boolean {
  return user.acl.canPublish(topics.command(site, device.kind.name, device.id, command));
}

export function commandsFor(user: ConsoleUser, site: string, device: Device): CommandInfo[] {
  const out: CommandInfo[] = [];
  for (const [name, definition] of Object.entries(device.kind.commands)) {
    if (!mayCommand(user, site, device, name)) continue;
    const specs: FieldSpecs = typeof definition.args === 'function' ? definition.args(device.config.settings) : definition.args;
    const required = definition.required ?? [];
    out.push({ name, description: definition.doc, args: Object.entries(specs).map(([arg, spec]) => argOf(arg, spec, required)) });
  }
  return out;
}

export function summarize(device: Device, activity: DeviceActivity, user: ConsoleUser, site: string, now = Date.now()): DeviceSummary {
  const state = device.state();
  const lastEvent = activity.lastEvent(device.id);
  const lastResult = activity.lastResult(device.id);
  return {
    id: device.id,
    kind: device.kind.name,
    ...(device.config.name && device.config.name !== device.id ? { description: device.config.name } : {}),
    availability: device.availability,
    state,
    summary: device.availability === 'online' ? describeDeviceState(device.kind.name, state, now) : `offline; last known: ${describeDeviceState(device.kind.name, state, now)}`,
    ...(lastEvent ? { last_event: lastEvent } : {}),
    ...(lastResult ? { last_result: lastResult } : {}),
    commands: commandsFor(user, site, device),
  };
}
