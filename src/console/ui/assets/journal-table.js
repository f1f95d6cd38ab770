// Journal rows as a table (the device page and the journal view).
import { h, label, when } from './dom.js';

export function what(row) {
  if (row.type === 'command') return `${label(row.command ?? '')}${row.code ?? row.status ? `: ${row.code ?? row.status}` : ''}${row.duplicate ? ' (duplicate)' : ''}`;
  if (row.type === 'event') return label(row.event ?? 'event');
  return label(row.type);
}

export function journalTable(rows, caption) {
  if (rows.length === 0) return h('p', { class: 'empty' }, 'No journal entries.');
  return h(
    'div',
    { class: 'table-wrap', tabindex: '0', role: 'region', 'aria-label': caption },
    h(
      'table',
      { class: 'journal' },
      h('caption', { class: 'sr-only' }, caption),
      h('thead', {}, h('tr', {}, ['Time', 'Type', 'Device', 'What', 'Who', 'Message'].map((t) => h('th', { scope: 'col' }, t)))),
      h(
        'tbody',
        {},
        rows.map((r) =>
          h(
            'tr',
            { class: r.status === 'error' || (r.code && r.code !== 'ok') ? 'bad' : '' },
            h('td', {}, when(r.at)),
            h('td', {}, r.type),
            h('td', {}, r.device ?? '—'),
            h('td', {}, what(r)),
            h('td', {}, [r.username, r.source].filter(Boolean).join(' via ') || r.peer || '—'),
            h('td', {}, r.message ?? (r.payload && r.type === 'event' ? r.payload : '') ?? ''),
          ),
        ),
      ),
    ),
  );
}
