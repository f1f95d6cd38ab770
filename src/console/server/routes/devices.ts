// The overview, a device's page, its latest snapshot, and its commands: through the one command
// pipeline with source `console` and the user's name. The server checks the user's ACL whatever the
// page shows; a refused command still goes to the pipeline (authorized: false), which journals and
// publishes its `forbidden` result like any other.
import type { JournalRecord } from '../../../commands/journal.js';
import { consoleCommand } from '../../../gateway/command-sources.js';
import { gatewayView } from '../gateway-view.js';
import { sendError, sendJson } from '../headers.js';
import type { ConsoleServerParts } from '../parts.js';
import type { Route } from '../router.js';
import { mayCommand, summarize } from '../summaries.js';

/** Keys of a command payload that are the envelope's, not the command's arguments. */
const ENVELOPE_KEYS = ['id', 'sent_at', 'ttl_ms'];

function newestFirst(rows: JournalRecord[]): JournalRecord[] {
  return rows.reverse();
}

export function deviceRoutes(parts: ConsoleServerParts): Route[] {
  const { deps, activity } = parts;
  const site = () => deps.config().site;
  return [
    {
      method: 'GET',
      path: '/api/overview',
      access: 'user',
      handler({ res, user }) {
        const devices = [...deps.devices.values()].map((d) => summarize(d, activity, user!, site()));
        sendJson(res, 200, { gateway: gatewayView(deps), devices });
      },
    },
    {
      method: 'GET',
      path: '/api/devices/:id',
      access: 'user',
      handler({ res, user, params }) {
        const device = deps.devices.get(params.id);
        if (!device) return sendError(res, 404, 'not_found', `no device ${JSON.stringify(params.id)}`);
        const events = newestFirst(deps.journal.query({ type: 'event', device: device.id, limit: 20 })).map((r) => ({
          type: r.event ?? '',
          at: r.at,
          details: parseDetails(r.payload),
        }));
        const journal = newestFirst(deps.journal.query({ device: device.id, limit: 50 }));
        const snapshot = activity.snapshot(device.id);
        sendJson(res, 200, {
          ...summarize(device, activity, user!, site()),
          events,
          journal,
          ...(snapshot ? { snapshot: { at: snapshot.at, url: `/api/devices/${encodeURIComponent(device.id)}/snapshot` } } : {}),
        });
      },
    },
    {
      method: 'GET',
      path: '/api/devices/:id/snapshot',
      access: 'user',
      handler({ req, res, params }) {
        const snapshot = deps.devices.get(params.id) ? activity.snapshot(params.id) : undefined;
        if (!snapshot) return sendError(res, 404, 'not_found', `no snapshot of ${JSON.stringify(params.id)} yet`);
        res.statusCode = 200;
        res.setHeader('Content-Type', 'image/jpeg');
        res.setHeader('Cache-Control', 'no-store');
        res.setHeader('Content-Length', snapshot.bytes.length);
        res.end(req.method === 'HEAD' ? undefined : snapshot.bytes);
      },
    },
    {
      method: 'POST',
      path: '/api/devices/:id/commands/:command',
      access: 'user',
      async handler({ res, user, params, body, peer }) {
        const device = deps.devices.get(params.id);
        if (!device) return sendError(res, 404, 'not_found', `no device ${JSON.stringify(params.id)}`);
        if (!Object.hasOwn(device.kind.commands, params.command)) {
          return sendError(res, 404, 'not_found', `a ${device.kind.name} has no command ${JSON.stringify(params.command)} (it has ${Object.keys(device.kind.commands).join(', ')})`);
        }
        const args = body.args ?? {};
        if (typeof args !== 'object' || args === null || Array.isArray(args)) return sendError(res, 400, 'bad_request', '"args" must be an object');
        const envelope = Object.keys(args).filter((k) => ENVELOPE_KEYS.includes(k));
        if (envelope.length > 0) return sendError(res, 400, 'bad_request', `${envelope.join(', ')} are not arguments`);
        const authorized = mayCommand(user!, site(), device, params.command);
        const payload = Buffer.from(Object.keys(args).length === 0 ? '' : JSON.stringify(args));
        const result = await deps.submit(consoleCommand({ kind: device.kind.name, device: device.id, command: params.command, payload, authorized, username: user!.username, peer }));
        const answer = {
          id: result.id,
          command: result.command,
          code: result.status === 'ok' ? 'ok' : (result.code ?? 'error'),
          message: result.message,
          ...(result.data ? { data: result.data } : {}),
          source: result.source,
          user: user!.username,
        };
        if (!authorized) return sendJson(res, 403, { error: 'forbidden', message: result.message, result: answer });
        sendJson(res, 200, answer);
      },
    },
  ];
}

function parseDetails(payload: string | undefined): Record<string, unknown> {
  if (!payload) return {};
  try {
    const value: unknown = JSON.parse(payload);
    return value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}
