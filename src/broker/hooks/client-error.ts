// aedes 'clientError' and 'connectionError' events: a connection ended with an error. What the
// broker caused on purpose and what networks do every day is logged at debug; anything else warns
// (throttled: any peer can cause one per connection).
import type { Client } from 'aedes';
import { boundedText, MAX_LOGGED_NAME_CHARS } from '../log-bounds.js';
import { isPolicyError } from '../policy-error.js';
import type { HookContext } from './context.js';

const ROUTINE_CODES = new Set(['ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ERR_STREAM_PREMATURE_CLOSE', 'ERR_STREAM_DESTROYED']);
const ROUTINE_MESSAGES = new Set(['keep alive timeout', 'connection closed', 'drain timeout']);

export type ClientErrorKind = 'policy' | 'routine' | 'unexpected';

export function classifyClientError(err: Error & { code?: string }): ClientErrorKind {
  if (isPolicyError(err)) return 'policy';
  if ((err.code && ROUTINE_CODES.has(err.code)) || ROUTINE_MESSAGES.has(err.message)) return 'routine';
  return 'unexpected';
}

export function clientErrorListener(ctx: HookContext, warn: (fields: object, message: string) => void): (client: Client, err: Error & { code?: string }) => void {
  return (client, err) => {
    const details = { clientId: boundedText(client.id ?? undefined, MAX_LOGGED_NAME_CHARS), peer: ctx.sessions.peerOf(client), err: { message: err.message, code: err.code } };
    const kind = classifyClientError(err);
    if (kind === 'policy') ctx.log.debug(details, 'mqtt client closed by policy');
    else if (kind === 'routine') ctx.log.debug(details, 'mqtt client connection ended');
    else warn(details, 'mqtt client error; connection closed');
  };
}
