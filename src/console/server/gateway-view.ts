// The gateway as the console shows it: its retained state (site/{site}/gateway/{id}/state) plus
// what only the running gateway knows: how many broker clients are connected, and the journal's
// size. A count of clients is no secret; who they are is the admin's broker view.
import type { ConsoleDeps } from './context.js';

export function gatewayView(deps: ConsoleDeps): Record<string, unknown> {
  const clients = deps.broker()?.clientList().length;
  const journal = deps.journal.size?.();
  return {
    ...deps.gatewayState(),
    ...(clients !== undefined ? { broker: { clients } } : {}),
    ...(journal ? { journal } : {}),
  };
}
