// Journal rows as a table (the device page and the journal view).
import { h, label, when } from './dom.js';

// Device events a technician must not miss, shown like a failed command.
const ALARMS = /forced|held_open|obstructed|tamper|fault/;

function isBad(r) {
  return r.status === 'error' || (r.code && r.code !== 'ok') || (r.type === 'event' && ALARMS.test(r.event ?? '')) || ['auth_failed', 'lockout', 'publish_denied', 'subscribe_denied'].includes(r.type);
}

export function what(row) {
  if (row.type === 'command') return `${label(row.command ?? '')}${row.code ?? row.status ? `: ${row.code ?? row.status}` : ''}${row.duplicate ? ' (duplicate)' : ''}`;
  if (row.type === 'event') return label(row.event ?? 'event');
  return label(row.type);
}

/** The rows as a table; `withDevice: false` leaves the device column out (a device's own page). */
export function journalTable(rows, caption, { withDevice = true } = {}) {
  if (rows.length === 0) return h('p', { class: 'empty' }, 'No journal entries.');
  const columns = ['Time', 'Type', ...(withDevice ? ['Device'] : []), 'What', 'Who', 'Message'];
  return h(
    'div',
    { class: 'table-wrap', tabindex: '0', role: 'region', 'aria-label': caption },
    h(
      'table',
      { class: 'journal' },
      h('caption', { class: 'sr-only' }, caption),
      h('thead', {}, h('tr', {}, columns.map((t) => h('th', { scope: 'col' }, t)))),
      h(
        'tbody',
        {},
        rows.map((r) =>
          h(
            'tr',
            { class: isBad(r) ? 'bad' : null },
            h('td', {}, when(r.at)),
            h('td', {}, r.type),
            withDevice ? h('td', {}, r.device ?? '—') : null,
            h('td', {}, what(r)),
            h('td', {}, [r.username, r.source].filter(Boolean).join(' via ') || r.peer || '—'),
            h('td', {}, r.message ?? (r.payload && r.type === 'event' ? r.payload : '') ?? ''),
          ),
        ),
      ),
    ),
  );
}
