// What the aedes hook adapters (hooks/*.ts) act with once their decision is made.
import type { Client } from 'aedes';
import type { Logger } from 'pino';
import type { TopicClass } from '../../topics.js';
import type { AedesCompat } from '../aedes-compat.js';
import type { ClientSessions } from '../client-session.js';
import type { BrokerCounters } from '../counters.js';
import type { BrokerHooks, BrokerLimits } from '../options.js';
import type { SecurityReporter } from '../security-event.js';

export interface HookContext {
  readonly sessions: ClientSessions<Client>;
  readonly hooks: BrokerHooks;
  /** hooks.classify, bound to its object. */
  readonly classify: (topic: string) => TopicClass;
  /** The limits of this aedes instance (fixed from start to stop). */
  readonly limits: BrokerLimits;
  readonly compat: AedesCompat;
  readonly counters: BrokerCounters;
  readonly security: SecurityReporter;
  readonly log: Logger;
}
