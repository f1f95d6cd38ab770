// POST /api/login, POST /api/logout, GET /api/session. The login is the broker's: same users,
// scrypt hashes and failed-login lockout (Broker.checkLogin); refusals and lockouts are journalled
// by it, a successful console login here (type `login`).
import { sendError, sendJson } from '../headers.js';
import type { Route } from '../router.js';
import type { ConsoleServerParts } from '../parts.js';
import { clearedCookie, sessionCookie } from '../sessions.js';

export function sessionRoutes(parts: ConsoleServerParts): Route[] {
  const { deps, sessions } = parts;
  return [
    {
      method: 'POST',
      path: '/api/login',
      access: 'public',
      async handler({ res, body, peer, https }) {
        const { username, password } = body;
        if (typeof username !== 'string' || typeof password !== 'string' || username.length === 0 || username.length > 128 || password.length > 1024) {
          return sendError(res, 400, 'bad_request', 'give {"username": "...", "password": "..."}');
        }
        const broker = deps.broker();
        if (!broker) return sendError(res, 503, 'server_error', 'the broker is not running');
        const outcome = await broker.checkLogin(username, password, peer, https ? 'console+https' : 'console+http');
        if (!outcome.ok) {
          if (outcome.reason === 'locked_out') return sendError(res, 429, 'locked_out', 'too many failed logins: locked out for a while; try again later');
          return sendError(res, 401, 'bad_credentials', 'wrong username or password');
        }
        const session = sessions.create(username);
        const user = parts.userOf(session);
        if (!user) {
          // Removed by a reload while the password was checked.
          sessions.end(session, 'logout');
          return sendError(res, 401, 'bad_credentials', 'wrong username or password');
        }
        await deps
          .commit(() => deps.journal.append({ at: Date.now(), type: 'login', source: 'console', username, peer, status: 'ok', message: 'console login' }))
          .catch((err: unknown) => deps.log.warn({ err: String(err) }, 'could not journal a console login'));
        deps.log.info({ username, peer }, 'console login');
        res.setHeader('Set-Cookie', sessionCookie(session.id, https, Math.ceil(deps.config().console.session_max_s)));
        sendJson(res, 200, { user: username, admin: user.admin, csrf: session.csrf });
      },
    },
    {
      method: 'POST',
      path: '/api/logout',
      access: 'user',
      handler({ res, session, https }) {
        sessions.end(session!, 'logout');
        res.setHeader('Set-Cookie', clearedCookie(https));
        sendJson(res, 200, { ok: true });
      },
    },
    {
      method: 'GET',
      path: '/api/session',
      access: 'user',
      handler({ res, session, user }) {
        sendJson(res, 200, { user: user!.username, admin: user!.admin, csrf: session!.csrf });
      },
    },
  ];
}
