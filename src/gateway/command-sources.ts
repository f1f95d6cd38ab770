// Commands enter the one pipeline from the local broker and from the cloud link; both become the
// same CommandInput here, in one place.
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
