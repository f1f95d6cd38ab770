// Which commands the cloud may send: `uplink.allow_commands`, entries "kind/command" where either
// side may be "*". Nothing is allowed unless listed.

export class CommandAllowList {
  private readonly entries: { kind: string; command: string }[];

  constructor(entries: readonly string[]) {
    this.entries = entries.map((entry) => {
      const [kind, command] = entry.split('/');
      return { kind, command };
    });
  }

  allows(kind: string, command: string): boolean {
    return this.entries.some((e) => (e.kind === '*' || e.kind === kind) && (e.command === '*' || e.command === command));
  }
}
