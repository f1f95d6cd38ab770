// The gateway itself: version, uptime, session, broker clients, uplink, outbox, journal.
import { bytes, duration, fill, h, show, when } from './dom.js';

function pick(obj, ...paths) {
  for (const path of paths) {
    let v = obj;
    for (const key of path.split('.')) v = v?.[key];
    if (v !== undefined && v !== null) return v;
  }
  return undefined;
}

function rows(g, receivedAt, extras) {
  const uptime = pick(g, 'uptime_s');
  const oldest = pick(g, 'outbox.oldest_age_s');
  const journalRows = pick(g, 'journal.rows');
  const journalBytes = pick(g, 'journal.bytes');
  return [
    ['Version', show(pick(g, 'version'))],
    ['Uptime', typeof uptime === 'number' ? duration(uptime + (Date.now() - receivedAt) / 1000) : '—'],
    ['Session', show(pick(g, 'session'))],
    ['Devices online', g.devices && typeof g.devices === 'object' ? `${g.devices.online} of ${g.devices.total}` : '—'],
    ['Broker clients', show(pick(g, 'broker.clients', 'clients') ?? extras.brokerClients ?? 'for admins')],
    ...(g.uplink || g.outbox
      ? [
          ['Uplink', show(pick(g, 'uplink.state'))],
          ['Outbox depth', show(pick(g, 'outbox.depth'))],
          ['Oldest message', oldest === null ? 'none' : typeof oldest === 'number' ? `${duration(oldest)} old` : '—'],
          ['Drops', show(pick(g, 'outbox.dropped'))],
        ]
      : [['Uplink', 'none configured (no outbox)']]),
    // The journal's size, when the gateway state carries it (journal.rows / journal.bytes).
    ...(journalRows !== undefined || journalBytes !== undefined
      ? [['Journal', [journalRows !== undefined ? `${journalRows} rows` : '', journalBytes !== undefined ? bytes(journalBytes) : ''].filter(Boolean).join(', ')]]
      : []),
    ['Started', when(pick(g, 'started_at'))],
  ];
}

/**
 * The panel; update(state) with a new gateway state, tick() to advance the uptime, setExtra()
 * for what the gateway state does not carry (the broker's client count, from the admin's view).
 */
export function gatewayPanel(state) {
  const extras = {};
  const dl = h('dl', { class: 'gateway-facts' });
  const el = h('section', { class: 'gateway', 'aria-labelledby': 'gw-title' }, h('h2', { id: 'gw-title' }, 'Gateway'), dl);
  let current = state;
  let receivedAt = Date.now();
  const render = () => fill(dl, rows(current ?? {}, receivedAt, extras).map(([k, v]) => h('div', {}, h('dt', {}, k), h('dd', {}, v))));
  render();
  return {
    el,
    update(next) {
      current = next;
      receivedAt = Date.now();
      render();
    },
    tick: render,
    setExtra(key, value) {
      extras[key] = value;
      render();
    },
  };
}
