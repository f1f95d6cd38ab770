// The one-line STATUS= text `systemctl status gatehouse` shows.

export interface StatusFigures {
  devices: { total: number; online: number };
  clients: number;
  /** Messages waiting in the cloud outbox; null without an uplink. */
  outbox: number | null;
}

function plural(count: number, word: string): string {
  return `${count} ${word}${count === 1 ? '' : 's'}`;
}

/** e.g. "online: 3/3 devices, 2 clients, outbox 0". */
export function statusLine(figures: StatusFigures): string {
  const parts = [`${figures.devices.online}/${plural(figures.devices.total, 'device')}`, plural(figures.clients, 'client')];
  if (figures.outbox !== null) parts.push(`outbox ${figures.outbox}`);
  return `online: ${parts.join(', ')}`;
}
