// The console's entry point: the session, the header, and which view fills <main>.
import { api, whenLoggedOut } from './api.js';
import { closeLive, openLive } from './live.js';
import { current, match, navigate, route } from './router.js';
import { loginView } from './view-login.js';
import { overviewView } from './view-overview.js';
import { deviceView } from './view-device.js';
import { journalView } from './view-journal.js';
import { brokerView } from './view-broker.js';
import { configView } from './view-config.js';
import { h, fill } from './dom.js';

route('/', overviewView);
route('/devices/:id', deviceView);
route('/journal', journalView);
route('/broker', brokerView);
route('/config', configView);

const main = document.getElementById('main');
const header = document.querySelector('header.top');
let session = null;
let cleanup = null;
let renderCount = 0;

function showHeader() {
  header.hidden = session === null;
  if (!session) return;
  document.getElementById('user-name').textContent = `${session.user}${session.admin ? ' (admin)' : ''}`;
  for (const el of document.querySelectorAll('.admin-only')) el.hidden = !session.admin;
  const { path } = current();
  for (const a of header.querySelectorAll('nav a')) {
    const target = a.getAttribute('href').slice(1);
    const here = target === '/' ? path === '/' || path.startsWith('/devices/') : path.startsWith(target);
    if (here) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
}

// Each render draws into a fresh container put in <main> at once: a view still waiting for its data
// when the next navigation starts then writes into a detached element, never over the next view.
async function render() {
  const mine = ++renderCount;
  if (typeof cleanup === 'function') cleanup();
  cleanup = null;
  showHeader();
  const { path, query } = current();
  const view = h('div', { class: 'view' });
  fill(main, view);
  main.removeAttribute('aria-busy');
  if (!session) {
    loginView(view, { onLogin: loggedIn });
    return;
  }
  const found = match(path);
  if (!found) {
    fill(view, h('h1', {}, 'Not found'), h('p', {}, 'No such view. ', h('a', { href: '#/' }, 'Back to the overview')));
    return;
  }
  main.setAttribute('aria-busy', 'true');
  const result = await found.view(view, { session, params: found.params, query, navigate });
  // A later navigation may have started while this view loaded: its cleanup is due at once.
  if (mine !== renderCount) {
    if (typeof result === 'function') result();
    return;
  }
  cleanup = result;
  main.removeAttribute('aria-busy');
  main.focus({ preventScroll: true });
}

function loggedIn(s) {
  session = s;
  // A feed the server closed for good: ask for the session, whose 401 leads back to the login.
  openLive(document.getElementById('live-status'), () => api.session().catch(() => {}));
  render();
}

function loggedOut() {
  session = null;
  closeLive();
  render();
}

whenLoggedOut(loggedOut);
window.addEventListener('hashchange', render);
document.getElementById('logout').addEventListener('click', async () => {
  await api.logout().catch(() => {});
  loggedOut();
});

api
  .session()
  .then(loggedIn)
  .catch(() => loggedOut());
