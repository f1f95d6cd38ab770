// The aedes events the broker listens to: routed PUBLISH packets (published.ts), connection
// errors (client-error.ts), UNSUBSCRIBE, keepalive timeouts and aedes' own errors.
import type { Aedes } from 'aedes';
import { clientErrorListener } from './client-error.js';
import type { HookContext } from './context.js';
import { publishedListener } from './published.js';

export function listenToAedes(aedes: Aedes, ctx: HookContext, warnClientError: (fields: object, message: string) => void): void {
  const onClientError = clientErrorListener(ctx, warnClientError);
  aedes.on('clientError', onClientError);
  aedes.on('connectionError', onClientError);
  aedes.on('unsubscribe', (filters, client) => {
    const session = ctx.sessions.get(client);
    for (const filter of filters) session?.granted.delete(filter);
  });
  aedes.on('keepaliveTimeout', (client) => ctx.log.debug({ clientId: client.id, peer: ctx.sessions.peerOf(client) }, 'mqtt keepalive timeout'));
  aedes.on('publish', publishedListener(ctx));
  // aedes emits 'error' for persistence failures; unhandled it would throw.
  (aedes as unknown as NodeJS.EventEmitter).on('error', (err: Error) => ctx.log.error({ err }, 'broker internal error'));
}
