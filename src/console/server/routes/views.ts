// GET /api/config (the running config, secrets redacted, where it came from, the last reload) and
// GET /api/broker (admin: connected clients, refused logins and lockouts).
import { redactConfig } from '../../../config/redact.js';
import { sendJson } from '../headers.js';
import type { ConsoleServerParts } from '../parts.js';
import type { Route } from '../router.js';

export function viewRoutes(parts: ConsoleServerParts): Route[] {
  const { deps, security } = parts;
  return [
    {
      method: 'GET',
      path: '/api/config',
      access: 'user',
      handler({ res }) {
        // Where it came from: the files, and the names (never the values) of the GATEHOUSE_* variables set.
        const source = { files: deps.configFiles ?? [], env: Object.keys(process.env).filter((k) => k.startsWith('GATEHOUSE_')).sort() };
        sendJson(res, 200, { config: redactConfig(deps.config()), source, last_reload: parts.lastReload() });
      },
    },
    {
      method: 'GET',
      path: '/api/broker',
      access: 'admin',
      handler({ res }) {
        sendJson(res, 200, { clients: deps.broker()?.clientList() ?? [], ...security.view() });
      },
    },
  ];
}
