// The cloud uplink as the gateway wires it: its outbox in the gateway's database, the command
// topics it subscribes to from the kinds' catalogue, its commands into the pipeline.
import type { CommandInput } from '../commands/pipeline.js';
import type { CommandResult } from '../commands/result.js';
import type { GatehouseConfig } from '../config.js';
import type { KindDefinition } from '../devices/kinds/types.js';
import type { Logger } from '../log.js';
import { commandCatalogOf } from '../registries.js';
import type { SqliteDatabase } from '../store/database.js';
import type { PooledSync } from '../store/pooled-sync.js';
import { SqliteOutbox } from '../store/sqlite-outbox.js';
import { commandFilters } from '../topics.js';
import { Uplink, type UplinkDeps } from '../uplink/uplink.js';
import { cloudCommand } from './command-sources.js';

export interface UplinkParts {
  config: Readonly<GatehouseConfig>;
  db: SqliteDatabase;
  /** The gateway's pooled WAL fsync (src/store/gateway-store.ts). */
  syncs: PooledSync;
  session: number;
  kinds: Readonly<Record<string, KindDefinition>>;
  retainedPicture: UplinkDeps['retainedPicture'];
  /** Undefined while the pipeline does not exist yet (the uplink is built first). */
  submit(input: CommandInput): Promise<CommandResult> | undefined;
  log: Logger;
}

export function createUplink({ config, db, syncs, session, kinds, retainedPicture, submit, log }: UplinkParts): Uplink {
  // FULL: the outbox commits at NORMAL, and a message counts once the pooled fsync of the WAL that
  // follows has returned (off the event loop). NORMAL: nothing waits for a sync.
  const pooled = config.uplink.synchronous === 'FULL' ? syncs : undefined;
  const outbox = new SqliteOutbox(db, {
    limits: { maxMessages: config.uplink.max_messages, maxBytes: config.uplink.max_bytes },
    synchronous: 'NORMAL',
  });
  return new Uplink({
    config: config.uplink,
    site: config.site,
    gatewayId: config.gateway_id,
    session,
    outbox,
    ...(pooled ? { afterSync: (done: () => void, failed: (err: unknown) => void) => pooled.after(done, failed) } : {}),
    commandFilters: commandFilters(config.site, commandCatalogOf(kinds), config.gateway_id),
    retainedPicture,
    onCommand: (cmd) => submit(cloudCommand(cmd)),
    log: log.child({ component: 'uplink' }),
  });
}
