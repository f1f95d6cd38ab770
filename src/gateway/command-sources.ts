// Commands enter the one pipeline from the local broker, the cloud link and the technician console;
// each becomes the same CommandInput here, in one place.
import type { IncomingCommand } from '../broker/broker.js';
import type { CommandInput } from '../commands/pipeline.js';
import type { CloudCommand } from '../uplink/uplink.js';

export function localCommand(cmd: IncomingCommand): CommandInput {
  const { kind, device, command, payload, authorized, clientId, username, peer } = cmd;
  const delivery = cmd.messageId !== undefined ? { clientId, messageId: cmd.messageId, dup: cmd.dup } : undefined;
  return { kind, device, command, payload, source: 'local', authorized, clientId, username, peer, delivery };
}

export function cloudCommand(cmd: CloudCommand): CommandInput {
  const { kind, device, command, payload, authorized, clientId, delivery, expiresAt, deliveryProblem } = cmd;
  return { kind, device, command, payload, source: 'cloud', authorized, clientId, delivery, expiresAt, deliveryProblem };
}

/** A command a console user sent (src/console/server/routes/commands.ts); `authorized` is the user's publish ACL for the command topic. */
export interface ConsoleCommand {
  kind: string;
  device: string;
  command: string;
  payload: Uint8Array;
  authorized: boolean;
  username: string;
  /** The browser's address:port. */
  peer: string;
}

export function consoleCommand(cmd: ConsoleCommand): CommandInput {
  const { kind, device, command, payload, authorized, username, peer } = cmd;
  return { kind, device, command, payload, source: 'console', authorized, clientId: `console:${username}`, username, peer };
}
