// Hash routes: #/ (overview), #/devices/<id>, #/journal?device=…, #/broker, #/config.
// The hash keeps the server to one page and makes every view a link a technician can bookmark.

const routes = [];

/** route('/devices/:id', view): view(main, ctx) renders and may return a cleanup function. */
export function route(pattern, view) {
  const names = [];
  const source = pattern.replace(/:(\w+)/g, (_, name) => (names.push(name), '([^/]+)'));
  routes.push({ re: new RegExp(`^${source}$`), names, view });
}

/** The current hash as { path, query }. */
export function current() {
  const hash = location.hash.replace(/^#/, '') || '/';
  const [path, search = ''] = hash.split('?');
  return { path: path || '/', query: new URLSearchParams(search) };
}

/** The view and its params for `path`, or null. */
export function match(path) {
  for (const { re, names, view } of routes) {
    const m = re.exec(path);
    if (m) return { view, params: Object.fromEntries(names.map((n, i) => [n, decodeURIComponent(m[i + 1])])) };
  }
  return null;
}

export function navigate(path) {
  if (location.hash === `#${path}`) window.dispatchEvent(new HashChangeEvent('hashchange'));
  else location.hash = path;
}
