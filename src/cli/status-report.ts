// `gatehouse status`: the one-screen summary built from a scrape of /metrics, the /healthz answer
// and /status.json (which gateway, each device's state, recent events and refusals).
import type { GatewayStatusDocument } from '../metrics/gateway-status.js';
import type { RecentEvent, RecentRefusal } from '../metrics/recent-activity.js';
import { select, sumOf, type Sample } from '../metrics/text-format.js';
import { describeDeviceState } from '../devices/describe-state.js';
import { refusalHint } from './refusal-hint.js';
import { clockTime, formatDuration } from './time-format.js';

/** Events and refusals shown in the text summary (the JSON has all the gateway keeps). */
export const SHOWN_RECENT = 5;

export interface HealthAnswer {
  /** HTTP status of /healthz: 200 healthy, 503 unhealthy. */
  httpStatus: number;
  status: string;
  reasons: string[];
}

export interface DeviceStatus {
  kind: string;
  device: string;
  /** The device's name in the config; absent without /status.json. */
  name?: string;
  online: boolean;
  /** Its last known state; null when the gateway serves no /status.json. */
  state: Record<string, unknown> | null;
  poll_failures: number;
  poll_failures_by_code: Record<string, number>;
  went_offline: number;
}

export interface StatusSummary {
  url: string;
  /** Who answered; null when the gateway serves no /status.json (an older gatehouse). */
  gateway: { site: string; gateway_id: string; session: number } | null;
  /** The gateway's clock when it answered (this machine's when unknown), epoch ms. */
  now: number;
  version: string | null;
  uptime_s: number | null;
  healthy: boolean;
  health_reasons: string[];
  broker: { clients: number; messages_received: number; messages_published: number };
  devices: DeviceStatus[];
  commands: { total: number; by_code: Record<string, number>; duplicates: number };
  outbox: { messages: number; bytes: number; oldest_age_s: number; dropped: number };
  uplink: { state: string; connected: boolean; connections: number };
  security: Record<string, number>;
  /** The last device events the gateway keeps, oldest first. */
  events: RecentEvent[];
  /** The last refused logins, publishes and subscriptions, oldest first, each with a hint when the reason is terse. */
  refusals: (RecentRefusal & { hint?: string })[];
}

function byLabel(samples: Sample[], name: string, label: string): Record<string, number> {
  const totals: Record<string, number> = {};
  for (const s of select(samples, name)) {
    const key = s.labels[label] ?? '';
    totals[key] = (totals[key] ?? 0) + s.value;
  }
  return totals;
}

function single(samples: Sample[], name: string): number | null {
  const found = select(samples, name);
  return found.length > 0 ? found[0].value : null;
}

export function summarize(url: string, samples: Sample[], health: HealthAnswer, document: GatewayStatusDocument | null = null): StatusSummary {
  const states = new Map((document?.devices ?? []).map((d) => [`${d.kind}/${d.id}`, d]));
  const devices: DeviceStatus[] = select(samples, 'gatehouse_device_online').map((s) => {
    const where = { kind: s.labels.kind, device: s.labels.device };
    const failures = select(samples, 'gatehouse_device_poll_failures_total', where);
    const byCode: Record<string, number> = {};
    for (const f of failures) byCode[f.labels.code] = (byCode[f.labels.code] ?? 0) + f.value;
    const known = states.get(`${where.kind}/${where.device}`);
    return {
      ...where,
      ...(known?.name ? { name: known.name } : {}),
      online: s.value === 1,
      state: known?.state ?? null,
      poll_failures: failures.reduce((sum, f) => sum + f.value, 0),
      poll_failures_by_code: byCode,
      went_offline: sumOf(samples, 'gatehouse_device_availability_changes_total', { ...where, availability: 'offline' }),
    };
  });
  devices.sort((a, b) => a.kind.localeCompare(b.kind) || a.device.localeCompare(b.device));
  const byCode = byLabel(samples, 'gatehouse_commands_total', 'code');
  const uplinkState = select(samples, 'gatehouse_uplink_state').find((s) => s.value === 1)?.labels.state ?? 'unknown';
  const site = document?.site ?? '';
  return {
    url,
    gateway: document ? { site: document.site, gateway_id: document.gateway_id, session: document.session } : null,
    now: document?.now ?? Date.now(),
    version: select(samples, 'gatehouse_build_info')[0]?.labels.version ?? null,
    uptime_s: single(samples, 'gatehouse_uptime_seconds'),
    healthy: health.httpStatus === 200,
    health_reasons: health.reasons,
    broker: {
      clients: sumOf(samples, 'gatehouse_broker_clients'),
      messages_received: sumOf(samples, 'gatehouse_broker_messages_received_total'),
      messages_published: sumOf(samples, 'gatehouse_broker_messages_published_total'),
    },
    devices,
    commands: {
      total: Object.values(byCode).reduce((a, b) => a + b, 0),
      by_code: byCode,
      duplicates: sumOf(samples, 'gatehouse_command_duplicates_total'),
    },
    outbox: {
      messages: sumOf(samples, 'gatehouse_outbox_messages'),
      bytes: sumOf(samples, 'gatehouse_outbox_bytes'),
      oldest_age_s: sumOf(samples, 'gatehouse_outbox_oldest_age_seconds'),
      dropped: sumOf(samples, 'gatehouse_outbox_dropped_total'),
    },
    uplink: { state: uplinkState, connected: sumOf(samples, 'gatehouse_uplink_connected') === 1, connections: sumOf(samples, 'gatehouse_uplink_connections_total') },
    security: byLabel(samples, 'gatehouse_security_events_total', 'type'),
    events: document?.events ?? [],
    refusals: (document?.refusals ?? []).map((r) => {
      const hint = refusalHint(r, site);
      return hint === undefined ? r : { ...r, hint };
    }),
  };
}

function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** Counts as `a 3, b 1`, largest first, `ok` always first. */
function counts(map: Record<string, number>): string {
  return Object.entries(map)
    .filter(([, n]) => n > 0)
    .sort(([a, x], [b, y]) => (a === 'ok' ? -1 : b === 'ok' ? 1 : y - x || a.localeCompare(b)))
    .map(([k, n]) => `${k} ${n}`)
    .join(', ');
}

function pad(text: string, width: number): string {
  return text.length >= width ? `${text} ` : text.padEnd(width);
}

/** `key=value` of an event's details, scalars only. */
function details(d: Record<string, unknown>): string {
  return Object.entries(d)
    .filter(([key, v]) => key !== 'at' && v !== null && ['string', 'number', 'boolean'].includes(typeof v))
    .map(([key, v]) => `${key}=${String(v)}`)
    .join(' ');
}

function eventLine(e: RecentEvent, now: number, width: number): string {
  return `  ${clockTime(e.at, now)}  ${pad(`${e.kind}/${e.device}`, width)}${e.event}${Object.keys(e.details).length ? `  ${details(e.details)}` : ''}`;
}

/** Who (user, client id, address), what (topic), why (reason and hint). */
function refusalLine(r: StatusSummary['refusals'][number], now: number): string {
  const who = `${r.username === undefined ? 'anonymous' : `user ${r.username}`}, client ${JSON.stringify(r.client_id)} from ${r.peer}`;
  return `  ${clockTime(r.at, now)}  ${pad(r.type, 17)}${who}: ${r.topic !== undefined ? `${r.topic}: ` : ''}${r.reason}${r.hint ? ` (${r.hint})` : ''}`;
}

function recent<T>(label: string, items: T[], line: (item: T) => string, hint = ''): string[] {
  if (items.length === 0) return [`${pad(label, 12)}none since start`];
  const shown = items.slice(-SHOWN_RECENT);
  const which = shown.length < items.length ? `the last ${shown.length} of ${items.length} kept` : `${shown.length} entr${shown.length === 1 ? 'y' : 'ies'}`;
  return [`${pad(label, 12)}${which}, newest last${hint}`, ...shown.map(line)];
}

export function formatStatus(s: StatusSummary): string {
  const lines: string[] = [];
  lines.push(`gatehouse ${s.version ?? '(version unknown)'} at ${s.url}${s.uptime_s !== null ? `, up ${formatDuration(s.uptime_s)}` : ''}`);
  if (s.gateway) lines.push(`${pad('gateway', 12)}${s.gateway.gateway_id} of site ${s.gateway.site} (session ${s.gateway.session})`);
  lines.push(`${pad('health', 12)}${s.healthy ? 'ok' : `UNHEALTHY: ${s.health_reasons.join('; ') || 'no reason given'}`}`);
  lines.push(`${pad('broker', 12)}${plural(s.broker.clients, 'client')} connected; messages ${s.broker.messages_received} received, ${s.broker.messages_published} published`);
  const online = s.devices.filter((d) => d.online).length;
  lines.push(`${pad('devices', 12)}${online} of ${s.devices.length} online`);
  const kindWidth = Math.max(4, ...s.devices.map((d) => d.kind.length)) + 2;
  const idWidth = Math.max(6, ...s.devices.map((d) => d.device.length)) + 2;
  for (const d of s.devices) {
    const state = d.state === null ? undefined : describeDeviceState(d.kind, d.state, s.now);
    const failures = d.poll_failures > 0 ? `poll failures ${d.poll_failures} (${counts(d.poll_failures_by_code)})` : undefined;
    const offline = d.went_offline > 0 ? `went offline ${d.went_offline}x` : undefined;
    const said = [state === undefined ? undefined : d.online ? state : `last known: ${state}`, failures, offline].filter((p) => p !== undefined);
    lines.push(`  ${pad(d.kind, kindWidth)}${pad(d.device, idWidth)}${pad(d.online ? 'online' : 'OFFLINE', 9)}${said.join('; ') || 'poll failures 0'}`.trimEnd());
  }
  const duplicates = s.commands.duplicates > 0 ? `; ${plural(s.commands.duplicates, 'duplicate')} answered again` : '';
  lines.push(`${pad('commands', 12)}${s.commands.total} answered${s.commands.total > 0 ? `: ${counts(s.commands.by_code)}` : ''}${duplicates}`);
  const oldest = s.outbox.messages > 0 ? `, oldest ${formatDuration(s.outbox.oldest_age_s)}` : '';
  lines.push(`${pad('outbox', 12)}${plural(s.outbox.messages, 'message')} (${formatBytes(s.outbox.bytes)})${oldest}, ${s.outbox.dropped} dropped`);
  lines.push(`${pad('uplink', 12)}${s.uplink.state}${s.uplink.state === 'disabled' ? '' : `, ${plural(s.uplink.connections, 'connection')} since start`}`);
  const security = counts(s.security);
  if (security) lines.push(`${pad('security', 12)}${security}`);
  if (s.gateway) {
    const width = Math.max(0, ...s.events.slice(-SHOWN_RECENT).map((e) => e.kind.length + e.device.length + 1)) + 2;
    lines.push(...recent('events', s.events, (e) => eventLine(e, s.now, width)));
    lines.push(...recent('refused', s.refusals, (r) => refusalLine(r, s.now), '; all of them: gatehouse journal --type TYPE'));
  }
  return lines.join('\n') + '\n';
}
