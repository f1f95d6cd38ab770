// What happens in a running gateway, as the extensions hear it on the event bus (src/event-bus.ts).
import type { SecurityEvent } from '../broker/security-event.js';
import type { CommandResult } from '../commands/result.js';
import type { GatehouseConfig } from '../config.js';
import type { Availability, Device } from '../devices/device.js';
import type { ReloadPlan } from '../service/reload.js';

export interface GatewayEvents {
  [name: string]: unknown;
  /** A device's state changed (published retained). */
  'device.state': { device: Device; state: Record<string, unknown> };
  /** A device event (door_forced, passage, snapshot, ...); `at` is when it happened, epoch ms. */
  'device.event': { device: Device; type: string; details: Record<string, unknown>; at: number };
  'device.availability': { device: Device; availability: Availability };
  /** A poll cycle (or the start-up safe-state attempt) failed with this DeviceError code. */
  'device.pollFailed': { device: Device; code: string };
  /** A picture the device took (a camera snapshot's JPEG bytes). */
  'device.image': { device: Device; bytes: Buffer; at?: number };
  /** A device removed by a reload, or living on under another kind: its topics and series go. */
  'device.retired': { device: Device };
  /** The one terminal result of a command. */
  'command.result': CommandResult;
  /** A refused login, publish or subscription, a lockout. */
  security: SecurityEvent;
  /** A client's PUBLISH the broker routed (Home Assistant's birth on homeassistant/status, ...). */
  'broker.published': { topic: string; payload: Buffer; retain: boolean; clientId: string };
  /** A reload was applied. */
  'config.reloaded': { config: Readonly<GatehouseConfig>; plan: ReloadPlan };
  /** A reload was rejected (an invalid config) or failed while applied; the running config stays. */
  'config.reloadFailed': { errors: string[] };
}
