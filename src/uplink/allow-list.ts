// Which commands the cloud may send: `uplink.allow_commands`, entries "kind/command" where either
// side may be "*". Nothing is allowed unless listed. A "*" kind means every device kind, not the
// gateway: its commands (reload, config, ...) are allowed only by entries that name it, so a
// `*/*` written for the doors does not also hand the cloud the gateway's config.
import { GATEWAY_KIND, parseCommandPattern } from '../topics.js';

export class CommandAllowList {
  private readonly entries: { kind: string; command: string }[];

  constructor(entries: readonly string[]) {
    // Config validation has refused anything else; an unparsable entry allows nothing.
    this.entries = entries.flatMap((entry) => parseCommandPattern(entry) ?? []);
  }

  allows(kind: string, command: string): boolean {
    return this.entries.some((e) => ((e.kind === '*' && kind !== GATEWAY_KIND) || e.kind === kind) && (e.command === '*' || e.command === command));
  }
}
