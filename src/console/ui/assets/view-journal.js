// The journal: filters (time range, device, type, user) kept in the address (#/journal?…), paged
// with the server's cursor, and the same search as a CSV download.
import { api } from './api.js';
import { fill, h } from './dom.js';
import { journalTable } from './journal-table.js';

const TYPES = ['command', 'login', 'auth_failed', 'publish_denied', 'subscribe_denied', 'lockout', 'event', 'session_expired'];
const PAGE = 100;
const MAX_PAGE = 500;

const pad = (n) => String(n).padStart(2, '0');
/** epoch ms -> the value of an <input type=datetime-local> (local time). */
function toLocalInput(ms) {
  if (!ms) return '';
  const d = new Date(Number(ms));
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

function field(id, text, input) {
  return h('div', { class: 'field' }, h('label', { for: id }, text), input);
}

export async function journalView(main, { query, navigate }) {
  const since = h('input', { id: 'j-since', name: 'since', type: 'datetime-local', value: toLocalInput(query.get('since')) });
  const until = h('input', { id: 'j-until', name: 'until', type: 'datetime-local', value: toLocalInput(query.get('until')) });
  const device = h('input', { id: 'j-device', name: 'device', autocomplete: 'off', value: query.get('device') ?? '' });
  const type = h('select', { id: 'j-type', name: 'type' }, h('option', { value: '' }, 'any'), TYPES.map((t) => h('option', { value: t, selected: query.get('type') === t }, t)));
  const user = h('input', { id: 'j-user', name: 'user', autocomplete: 'off', value: query.get('user') ?? '' });
  const form = h(
    'form',
    { class: 'filters', 'aria-label': 'Journal filters' },
    field('j-since', 'From', since),
    field('j-until', 'Until', until),
    field('j-device', 'Device', device),
    field('j-type', 'Type', type),
    field('j-user', 'User', user),
    h('button', { type: 'submit' }, 'Search'),
  );
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const q = new URLSearchParams();
    if (since.value) q.set('since', String(new Date(since.value).getTime()));
    if (until.value) q.set('until', String(new Date(until.value).getTime()));
    for (const [k, el] of [['device', device], ['type', type], ['user', user]]) if (el.value.trim()) q.set(k, el.value.trim());
    if (query.get('limit')) q.set('limit', query.get('limit'));
    navigate(`/journal${q.size ? `?${q}` : ''}`);
  });

  const filters = new URLSearchParams();
  for (const k of ['since', 'until', 'device', 'type', 'user']) if (query.get(k)) filters.set(k, query.get(k));
  const csv = h('a', { href: `/api/journal.csv${filters.size ? `?${filters}` : ''}`, download: 'gatehouse-journal.csv' }, 'Export as CSV');
  const results = h('div', { class: 'journal-results', 'aria-live': 'polite' }, h('p', {}, 'Loading…'));
  fill(main, h('h1', {}, 'Journal'), form, h('p', {}, csv), results);

  // A page is 100 entries unless the address asks for another size (#/journal?limit=20).
  const limit = Math.min(MAX_PAGE, Math.max(1, Math.floor(Number(query.get('limit'))) || PAGE));
  let rows = [];
  const load = async (before) => {
    const q = new URLSearchParams(filters);
    q.set('limit', String(limit));
    if (before !== undefined) q.set('before', String(before));
    let page;
    try {
      page = await api.get(`/api/journal?${q}`);
    } catch (err) {
      fill(results, h('p', { class: 'error', role: 'alert' }, err.message));
      return;
    }
    rows = rows.concat(page.rows);
    const more = page.more ? h('button', { type: 'button', onclick: () => load(page.next) }, 'Older entries') : null;
    fill(results, h('p', {}, `${rows.length} entries${page.more ? ' (more older ones)' : ''}`), journalTable(rows, 'Journal entries, newest first'), more);
  };
  await load();
  return undefined;
}
