// POST /api/devices/:id/commissioning/read and /pulse (admin): read a device's points now, pulse
// one output (src/commissioning/). The library journals each action and refuses a busy or
// offline device; here only who may, and the HTTP status of each outcome.
import type { CommissioningErrorCode, CommissioningResult, DeviceCommissioningApi } from '../../../commissioning/device-commissioning.js';
import type { RequestContext } from '../context.js';
import { sendError, sendJson } from '../headers.js';
import type { ConsoleServerParts } from '../parts.js';
import type { Route } from '../router.js';

const STATUS: Record<CommissioningErrorCode, number> = { unknown_device: 404, bad_request: 400, offline: 409, busy: 409, timeout: 504, device_error: 502 };

function answer(res: RequestContext['res'], outcome: CommissioningResult<object>): void {
  if (outcome.ok) return sendJson(res, 200, outcome);
  sendJson(res, STATUS[outcome.code], { error: outcome.code, message: outcome.message });
}

export function commissioningRoutes(parts: ConsoleServerParts): Route[] {
  const library = (): DeviceCommissioningApi | undefined => parts.deps.commissioning?.();
  const unavailable = (res: RequestContext['res']) => sendError(res, 503, 'server_error', 'commissioning is not available while the gateway starts or stops');
  return [
    {
      method: 'POST',
      path: '/api/devices/:id/commissioning/read',
      access: 'admin',
      async handler({ res, params, user, peer }) {
        const api = library();
        if (!api) return unavailable(res);
        answer(res, await api.readNow(params.id!, { username: user!.username, source: 'console', peer }));
      },
    },
    {
      method: 'POST',
      path: '/api/devices/:id/commissioning/pulse',
      access: 'admin',
      async handler({ res, params, user, peer, body }) {
        const api = library();
        if (!api) return unavailable(res);
        const { output, ms } = body;
        if (typeof output !== 'string' || typeof ms !== 'number') return sendError(res, 400, 'bad_request', 'send {"output": "<name>", "ms": <milliseconds>}');
        answer(res, await api.pulseOutput(params.id!, { output, ms }, { username: user!.username, source: 'console', peer }));
      },
    },
  ];
}
