// The broker's own counters, for metrics: connections and clients stopped by a limit, refusals
// not journaled, and the PUBLISH packets aedes routed.
import type { LoginCounters } from './login-guard.js';

export class BrokerCounters {
  /** Connections closed by broker.limits.max_inflight. */
  limitDisconnects = 0;
  /** SUBSCRIBE filters refused by broker.limits.max_subscriptions or max_topic_length. */
  subscriptionsRefusedByLimit = 0;
  /** Subscribe refusals past the journaled ones of a connection (see hooks/authorize-subscribe.ts). */
  subscribeDenialsNotJournaled = 0;
  /** CONNECT packets refused by broker.limits.max_client_id_length. */
  clientIdsRefused = 0;
  /** PUBLISH packets aedes routed from clients. */
  received = 0;
  /** PUBLISH packets aedes routed from the gateway itself ($SYS not counted). */
  published = 0;

  messageCounts(): { received: number; published: number } {
    return { received: this.received, published: this.published };
  }

  /** Login failures and lockouts, and connections or clients stopped by a limit. */
  securityCounters(
    logins: LoginCounters,
    queues: { queuedMessagesDropped: number; currentQueuedMessages: number },
    connections: { refused: number; open: number },
  ): Record<string, number> {
    return {
      ...logins,
      limitDisconnects: this.limitDisconnects,
      subscriptionsRefusedByLimit: this.subscriptionsRefusedByLimit,
      subscribeDenialsNotJournaled: this.subscribeDenialsNotJournaled,
      clientIdsRefused: this.clientIdsRefused,
      ...queues,
      connectionsRefused: connections.refused,
      openConnections: connections.open,
    };
  }
}
