// GET /status.json on the metrics listener: which gateway this is, each device's availability and
// last state, the last events and the last security refusals. `gatehouse status` reads it.
import type { RecentActivity, RecentEvent, RecentRefusal } from './recent-activity.js';

export interface StatusDevice {
  kind: string;
  id: string;
  name?: string;
  availability: 'online' | 'offline';
  /** The device's last known state, as on its retained state topic. */
  state: Record<string, unknown>;
}

export interface GatewayStatusDocument {
  site: string;
  gateway_id: string;
  version: string;
  /** Start count of this data dir (the gateway state topic's `session`). */
  session: number;
  started_at: number;
  /** The gateway's clock when it answered, epoch ms. */
  now: number;
  devices: StatusDevice[];
  /** Oldest first. */
  events: RecentEvent[];
  /** Refused logins, publishes and subscriptions; oldest first. */
  refusals: RecentRefusal[];
}

export interface StatusDeviceView {
  readonly id: string;
  readonly kind: { readonly name: string };
  readonly availability: 'online' | 'offline';
  readonly config?: { readonly name?: string };
  state?(): Record<string, unknown>;
}

export interface GatewayIdentity {
  site: string;
  gateway_id: string;
  session: number;
}

export interface GatewayStatusSources {
  version: string;
  startedAt: number;
  identity(): GatewayIdentity;
  devices(): Iterable<StatusDeviceView>;
  recent: RecentActivity;
  now?: () => number;
}

export function gatewayStatus(sources: GatewayStatusSources): GatewayStatusDocument {
  const devices: StatusDevice[] = [];
  for (const d of sources.devices()) {
    let state: Record<string, unknown>;
    try {
      state = d.state?.() ?? {};
    } catch (err) {
      state = { error: `state unavailable: ${err instanceof Error ? err.message : String(err)}` };
    }
    devices.push({ kind: d.kind.name, id: d.id, ...(d.config?.name ? { name: d.config.name } : {}), availability: d.availability, state });
  }
  devices.sort((a, b) => a.kind.localeCompare(b.kind) || a.id.localeCompare(b.id));
  return {
    ...sources.identity(),
    version: sources.version,
    started_at: sources.startedAt,
    now: (sources.now ?? Date.now)(),
    devices,
    events: sources.recent.events(),
    refusals: sources.recent.refusals(),
  };
}
