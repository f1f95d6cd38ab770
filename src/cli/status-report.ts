// `gatehouse status`: the one-screen summary built from a scrape of /metrics and the /healthz answer.
import { select, sumOf, type Sample } from '../metrics/text-format.js';

export interface HealthAnswer {
  /** HTTP status of /healthz: 200 healthy, 503 unhealthy. */
  httpStatus: number;
  status: string;
  reasons: string[];
}

export interface DeviceStatus {
  kind: string;
  device: string;
  online: boolean;
  poll_failures: number;
  poll_failures_by_code: Record<string, number>;
  went_offline: number;
}

export interface StatusSummary {
  url: string;
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

export function summarize(url: string, samples: Sample[], health: HealthAnswer): StatusSummary {
  const devices: DeviceStatus[] = select(samples, 'gatehouse_device_online').map((s) => {
    const where = { kind: s.labels.kind, device: s.labels.device };
    const failures = select(samples, 'gatehouse_device_poll_failures_total', where);
    const byCode: Record<string, number> = {};
    for (const f of failures) byCode[f.labels.code] = (byCode[f.labels.code] ?? 0) + f.value;
    return {
      ...where,
      online: s.value === 1,
      poll_failures: failures.reduce((sum, f) => sum + f.value, 0),
      poll_failures_by_code: byCode,
      went_offline: sumOf(samples, 'gatehouse_device_availability_changes_total', { ...where, availability: 'offline' }),
    };
  });
  devices.sort((a, b) => a.kind.localeCompare(b.kind) || a.device.localeCompare(b.device));
  const byCode = byLabel(samples, 'gatehouse_commands_total', 'code');
  const uplinkState = select(samples, 'gatehouse_uplink_state').find((s) => s.value === 1)?.labels.state ?? 'unknown';
  return {
    url,
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
  };
}

export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${s % 60}s`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
  return `${Math.floor(s / 86_400)}d ${Math.floor((s % 86_400) / 3600)}h`;
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

export function formatStatus(s: StatusSummary): string {
  const lines: string[] = [];
  lines.push(`gatehouse ${s.version ?? '(version unknown)'} at ${s.url}${s.uptime_s !== null ? `, up ${formatDuration(s.uptime_s)}` : ''}`);
  lines.push(`${pad('health', 12)}${s.healthy ? 'ok' : `UNHEALTHY: ${s.health_reasons.join('; ') || 'no reason given'}`}`);
  lines.push(`${pad('broker', 12)}${plural(s.broker.clients, 'client')} connected; messages ${s.broker.messages_received} received, ${s.broker.messages_published} published`);
  const online = s.devices.filter((d) => d.online).length;
  lines.push(`${pad('devices', 12)}${online} of ${s.devices.length} online`);
  const kindWidth = Math.max(4, ...s.devices.map((d) => d.kind.length)) + 2;
  const idWidth = Math.max(6, ...s.devices.map((d) => d.device.length)) + 2;
  for (const d of s.devices) {
    const failures = d.poll_failures > 0 ? ` (${counts(d.poll_failures_by_code)})` : '';
    const offline = d.went_offline > 0 ? `, went offline ${d.went_offline}x` : '';
    lines.push(`  ${pad(d.kind, kindWidth)}${pad(d.device, idWidth)}${pad(d.online ? 'online' : 'OFFLINE', 9)}poll failures ${d.poll_failures}${failures}${offline}`);
  }
  const duplicates = s.commands.duplicates > 0 ? `; ${plural(s.commands.duplicates, 'duplicate')} answered again` : '';
  lines.push(`${pad('commands', 12)}${s.commands.total} answered${s.commands.total > 0 ? `: ${counts(s.commands.by_code)}` : ''}${duplicates}`);
  const oldest = s.outbox.messages > 0 ? `, oldest ${formatDuration(s.outbox.oldest_age_s)}` : '';
  lines.push(`${pad('outbox', 12)}${plural(s.outbox.messages, 'message')} (${formatBytes(s.outbox.bytes)})${oldest}, ${s.outbox.dropped} dropped`);
  lines.push(`${pad('uplink', 12)}${s.uplink.state}${s.uplink.state === 'disabled' ? '' : `, ${plural(s.uplink.connections, 'connection')} since start`}`);
  const security = counts(s.security);
  if (security) lines.push(`${pad('security', 12)}${security}`);
  return lines.join('\n') + '\n';
}
