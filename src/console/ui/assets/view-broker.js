// Admin only: the broker's connected clients, refused logins and lockouts.
import { api } from './api.js';
import { fill, h, show, when } from './dom.js';

function table(caption, columns, rows) {
  if (rows.length === 0) return h('p', { class: 'empty' }, `${caption}: none.`);
  return h(
    'div',
    { class: 'table-wrap', tabindex: '0', role: 'region', 'aria-label': caption },
    h('table', {}, h('caption', { class: 'sr-only' }, caption), h('thead', {}, h('tr', {}, columns.map(([t]) => h('th', { scope: 'col' }, t)))), h('tbody', {}, rows.map((r) => h('tr', {}, columns.map(([, f]) => h('td', {}, f(r))))))),
  );
}

export async function brokerView(main, { session }) {
  fill(main, h('h1', {}, 'Broker'), h('p', {}, 'Loading…'));
  if (!session.admin) {
    fill(main, h('h1', {}, 'Broker'), h('p', { class: 'error', role: 'alert' }, 'This view is for users with the admin role.'));
    return;
  }
  let b;
  try {
    b = await api.get('/api/broker');
  } catch (err) {
    fill(main, h('h1', {}, 'Broker'), h('p', { class: 'error', role: 'alert' }, err.message));
    return;
  }
  const lockouts = b.lockouts ?? [];
  fill(
    main,
    h('h1', {}, 'Broker'),
    h('h2', {}, `Connected clients (${b.clients.length})`),
    table('Connected clients', [['Client id', (r) => r.client_id], ['User', (r) => r.user ?? 'anonymous'], ['Protocol', (r) => r.protocol], ['Address', (r) => r.address], ['Since', (r) => when(r.since)]], b.clients),
    h('h2', {}, 'Refused logins'),
    table('Refused logins', [['Time', (r) => when(r.at)], ['Address', (r) => r.address], ['User', (r) => r.user ?? '—'], ['Reason', (r) => r.reason]], b.refused ?? []),
    h('h2', {}, 'Lockouts'),
    table('Lockouts', lockouts.length ? Object.keys(lockouts[0]).map((k) => [k, (r) => (k === 'at' || k.endsWith('_at') || k === 'until' ? when(r[k]) : show(r[k]))]) : [], lockouts),
  );
}
