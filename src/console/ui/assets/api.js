// The console's HTTP API client (docs/console-api.md): JSON in and out, the session cookie sent
// by the browser (HttpOnly, never visible here), the CSRF token on every POST.

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message || code || `HTTP ${status}`);
    this.status = status;
    this.code = code;
  }
}

let csrf = '';
let onLoggedOut = () => {};

/** Called with no arguments whenever the server says the session is gone (401). */
export function whenLoggedOut(fn) {
  onLoggedOut = fn;
}

async function request(method, path, body) {
  const headers = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET') headers['X-CSRF-Token'] = csrf;
  let res;
  try {
    res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), credentials: 'same-origin' });
  } catch {
    throw new ApiError(0, 'unreachable', 'The gateway did not answer (network error).');
  }
  const type = res.headers.get('Content-Type') || '';
  const data = type.includes('application/json') ? await res.json().catch(() => ({})) : {};
  if (!res.ok) {
    const err = new ApiError(res.status, data.error, data.message);
    if (res.status === 401 && path !== '/api/login') {
      csrf = '';
      onLoggedOut();
    }
    throw err;
  }
  return data;
}

export const api = {
  get: (path) => request('GET', path),
  post: (path, body = {}) => request('POST', path, body),

  async login(username, password) {
    const session = await request('POST', '/api/login', { username, password });
    csrf = session.csrf;
    return session;
  },
  async session() {
    const session = await request('GET', '/api/session');
    csrf = session.csrf;
    return session;
  },
  async logout() {
    try {
      await request('POST', '/api/logout', {});
    } finally {
      csrf = '';
    }
  },
  command(device, command, args) {
    return request('POST', `/api/devices/${encodeURIComponent(device)}/commands/${encodeURIComponent(command)}`, args ? { args } : {});
  },
};
