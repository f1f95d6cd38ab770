// The running config (secrets redacted by the server), where it came from, the last reload.
import { api } from './api.js';
import { fill, h, when } from './dom.js';

export async function configView(main) {
  fill(main, h('h1', {}, 'Config'), h('p', {}, 'Loading…'));
  let c;
  try {
    c = await api.get('/api/config');
  } catch (err) {
    fill(main, h('h1', {}, 'Config'), h('p', { class: 'error', role: 'alert' }, err.message));
    return;
  }
  const reload = c.last_reload;
  const files = c.source?.files ?? [];
  const env = c.source?.env ?? [];
  fill(
    main,
    h('h1', {}, 'Config'),
    h('h2', {}, 'Source'),
    h('dl', { class: 'state' }, h('div', {}, h('dt', {}, 'Files'), h('dd', {}, files.length ? files.join(', ') : '—')), h('div', {}, h('dt', {}, 'Environment'), h('dd', {}, (Array.isArray(env) ? env : Object.keys(env)).join(', ') || '—'))),
    h('h2', {}, 'Last reload'),
    reload
      ? h('p', { class: reload.outcome === 'ok' || reload.outcome === 'applied' ? 'result ok' : 'result fail' }, `${when(reload.at)}: ${reload.outcome === 'rejected' ? 'rejected; the running config stays' : reload.outcome}`, Array.isArray(reload.errors) ? h('ul', {}, reload.errors.map((e) => h('li', {}, typeof e === 'string' ? e : JSON.stringify(e)))) : null, reload.changes ? h('pre', {}, JSON.stringify(reload.changes, null, 2)) : null)
      : h('p', {}, 'No reload since the start.'),
    h('h2', {}, 'Running config (secrets redacted)'),
    h('pre', { class: 'config', tabindex: '0', 'aria-label': 'Running config' }, JSON.stringify(c.config, null, 2)),
  );
}
