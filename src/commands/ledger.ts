import type { CommandResult } from './result.js';
import { deviceKey } from '../topics.js';

// The memory of command ids, for de-duplication (DESIGN.md section 2): a repeated id is never
// executed twice. Scoped per device, so two apps choosing the same id for different devices do
// not collide. Implementations: MemoryLedger here, SqliteLedger in src/store; both run the shared
// conformance suite in test/commands/ledger-conformance.ts.

export interface LedgerInput {
  command: string;
  source: string;
  client_id?: string;
  username?: string;
}

export interface LedgerRecord {
  scope: string;
  id: string;
  createdAt: number;
  input: LedgerInput;
  /** Absent while the command has no terminal result yet. */
  result?: CommandResult;
}

export interface CommandLedger {
  /** Remember (scope, id) if it is new and return undefined; otherwise return what is remembered. Atomic. */
  claim(scope: string, id: string, createdAt: number, input: LedgerInput): LedgerRecord | undefined;
  /** Store the terminal result of a claimed id. */
  complete(scope: string, id: string, result: CommandResult): void;
  get(scope: string, id: string): LedgerRecord | undefined;
  /** Claimed ids that never got a result (the gateway stopped while they ran). */
  unfinished(): LedgerRecord[];
  /** Forget ids claimed before `before` (epoch ms). Returns how many. */
  prune(before: number): number;
}

export function ledgerScope(kind: string, device: string): string {
  return deviceKey(kind, device);
}

export class MemoryLedger implements CommandLedger {
  private readonly records = new Map<string, LedgerRecord>();

  private key(scope: string, id: string): string {
    return `${scope}\u0000${id}`;
  }

  claim(scope: string, id: string, createdAt: number, input: LedgerInput): LedgerRecord | undefined {
    const existing = this.records.get(this.key(scope, id));
    if (existing) return structuredClone(existing);
    this.records.set(this.key(scope, id), { scope, id, createdAt, input: { ...input } });
    return undefined;
  }

  complete(scope: string, id: string, result: CommandResult): void {
    const record = this.records.get(this.key(scope, id));
    if (record) record.result = structuredClone(result);
  }

  get(scope: string, id: string): LedgerRecord | undefined {
    const record = this.records.get(this.key(scope, id));
    return record && structuredClone(record);
  }

  unfinished(): LedgerRecord[] {
    return [...this.records.values()].filter((r) => !r.result).map((r) => structuredClone(r));
  }

  prune(before: number): number {
    let removed = 0;
    for (const [key, record] of this.records) {
      if (record.createdAt < before) {
        this.records.delete(key);
        removed++;
      }
    }
    return removed;
  }
}
