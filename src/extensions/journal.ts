// The audit journal's share of the bus: device events and security decisions are journaled (the
// pipeline journals commands itself); housekeeping keeps the journal and the command ledger bounded.
import type { SecurityEvent } from '../broker/security-event.js';
import type { Commit } from '../commands/commit.js';
import { eventRecorder } from '../commands/event-journal.js';
import type { Journal, JournalEntry } from '../commands/journal.js';
import { JournalRetention } from '../commands/journal-retention.js';
import type { CommandLedger } from '../commands/ledger.js';
import type { GatehouseConfig } from '../config.js';
import type { EventBus, Extension } from '../event-bus.js';
import type { GatewayEvents } from '../gateway/events.js';
import type { Logger } from '../log.js';

export const HOUSEKEEPING_INTERVAL_MS = 3_600_000;

export interface JournalExtensionDeps {
  bus: EventBus<GatewayEvents>;
  journal: Journal;
  ledger: CommandLedger;
  commit: Commit;
  /** The running config: read at each prune, so a reload applies at the next one. */
  config(): Readonly<GatehouseConfig>;
  log: Logger;
}

export function securityJournalEntry(e: SecurityEvent, at = Date.now()): JournalEntry {
  return { at, type: e.type, client_id: e.clientId, username: e.username, peer: e.peer, payload: e.topic, status: 'error', code: e.type === 'session_expired' ? 'expired' : 'forbidden', message: e.reason };
}

/** Device events and security decisions into the journal, from the first device report to the last. */
export class JournalExtension implements Extension {
  readonly name = 'journal';
  private readonly unsubscribe: (() => void)[] = [];

  constructor(private readonly deps: Omit<JournalExtensionDeps, 'ledger' | 'config'>) {}

  start(): void {
    const { bus, journal, commit, log } = this.deps;
    const record = eventRecorder({ journal, commit, log });
    this.unsubscribe.push(
      bus.on('device.event', this.name, ({ device, type, details, at }) => record({ kind: device.kind.name, device: device.id, type, at, details })),
      bus.on('security', this.name, (e) =>
        commit(() => journal.append(securityJournalEntry(e))).catch((err) => log.warn({ err: String(err) }, 'could not journal a security event')),
      ),
    );
  }

  stop(): void {
    for (const off of this.unsubscribe.splice(0)) off();
  }
}

/** Keeps the journal and the command ledger bounded: at start, every hour, after a reload of their settings. */
export class HousekeepingExtension implements Extension {
  readonly name = 'housekeeping';
  private readonly retention: JournalRetention;
  private unsubscribe: (() => void) | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly deps: JournalExtensionDeps) {
    this.retention = new JournalRetention({ journal: deps.journal, commit: deps.commit, settings: () => deps.config().journal, log: deps.log });
  }

  start(): void {
    this.unsubscribe = this.deps.bus.on('config.reloaded', this.name, ({ plan }) => {
      if (plan.settings) void this.retention.prune();
    });
    this.run();
    this.timer = setInterval(() => this.run(), HOUSEKEEPING_INTERVAL_MS);
  }

  /** No further prune batches; the one under way ends first. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.unsubscribe?.();
    await this.retention.stop();
  }

  private run(): void {
    const forgotten = this.deps.ledger.prune(Date.now() - this.deps.config().commands.dedupe_window_ms);
    if (forgotten) this.deps.log.info({ command_ids: forgotten }, 'housekeeping');
    // In batches over many turns of the event loop (src/commands/journal-retention.ts); logs what it removed.
    void this.retention.prune();
  }
}
