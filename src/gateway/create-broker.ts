// The embedded broker as the gateway wires it: commands to the pipeline, security events and every
// publish onto the bus, broker state in the gateway's database, and the outbox before each PUBACK.
import { Broker } from '../broker/broker.js';
import { brokerOptionsFromConfig } from '../broker/options-from-config.js';
import type { CommandPipeline } from '../commands/pipeline.js';
import type { GatehouseConfig } from '../config.js';
import type { EventBus } from '../event-bus.js';
import type { Logger } from '../log.js';
import type { SqliteDatabase } from '../store/database.js';
import type { GroupCommit } from '../store/group-commit.js';
import { SqliteBrokerState } from '../store/sqlite-broker-state.js';
import { classifyTopic } from '../topics.js';
import type { Uplink } from '../uplink/uplink.js';
import { localCommand } from './command-sources.js';
import type { GatewayEvents } from './events.js';

export interface BrokerParts {
  config: Readonly<GatehouseConfig>;
  bus: EventBus<GatewayEvents>;
  pipeline: CommandPipeline;
  db: SqliteDatabase;
  commits: GroupCommit;
  uplink: Uplink | undefined;
  log: Logger;
}

export function createBroker({ config, bus, pipeline, db, commits, uplink, log }: BrokerParts): Broker {
  // Persistent sessions, their queues, retained messages and wills in the gateway's database (issue 13).
  const state = config.broker.persistence === 'sqlite' ? new SqliteBrokerState(db, commits.run, log.child({ component: 'broker-state' })) : undefined;
  return new Broker(
    { ...brokerOptionsFromConfig(config), ...(state ? { state } : {}) },
    {
      classify: (topic) => classifyTopic(config.site, topic),
      onCommand: (cmd) => void pipeline.submit(localCommand(cmd)),
      onSecurityEvent: (e) => bus.emit('security', e),
      onPublished: (topic, payload, retain, clientId) => bus.emit('broker.published', { topic, payload, retain, clientId }),
      // A message the cloud gets is in the outbox before its publisher's PUBACK (issue 13).
      ...(uplink ? { keep: (topic: string, payload: Buffer, retain: boolean) => uplink.forward(topic, payload, retain) } : {}),
    },
    log.child({ component: 'broker' }),
  );
}
