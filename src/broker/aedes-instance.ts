// One aedes instance with gatehouse's five hooks, its event listeners and every guard of
// aedes-compat.ts installed, listening (aedes' own listen(): persistence and emitter ready).
import { Aedes } from 'aedes';
import { OfflineQueueLimiter } from './guards/offline-queue.js';
import { PublishSequencer } from './guards/publish-order.js';
import { authenticateHook, type AuthenticateContext } from './hooks/authenticate.js';
import { authorizeForwardHook } from './hooks/authorize-forward.js';
import { authorizePublishHook } from './hooks/authorize-publish.js';
import { authorizeSubscribeHook } from './hooks/authorize-subscribe.js';
import { listenToAedes } from './hooks/events.js';
import { preConnectHook } from './hooks/pre-connect.js';

export interface AedesInstance {
  aedes: Aedes;
  /** Orders the gateway's own publishes (guards/publish-order.ts). */
  sequencer: PublishSequencer;
  /** broker.limits.max_queued_messages (guards/offline-queue.ts). */
  offlineQueue: OfflineQueueLimiter;
}

export async function startAedesInstance(ctx: AuthenticateContext, warnClientError: (fields: object, message: string) => void): Promise<AedesInstance> {
  const { limits, compat, sessions } = ctx;
  const aedes = new Aedes({
    maxTopicLevels: limits.maxTopicLevels,
    connectTimeout: limits.connectTimeoutMs,
    drainTimeout: limits.drainTimeoutMs,
    preConnect: preConnectHook(ctx),
    authenticate: authenticateHook(ctx),
    authorizePublish: authorizePublishHook(ctx),
    authorizeSubscribe: authorizeSubscribeHook(ctx),
    authorizeForward: authorizeForwardHook(ctx),
  });
  try {
    const sequencer = new PublishSequencer();
    compat.guardEmitter(aedes, sequencer);
    listenToAedes(aedes, ctx, warnClientError);
    await aedes.listen();
    // A session is not offline from its login (aedes subscribes a persistent session again right
    // after it) until its connection closes, and then while aedes still lists it.
    const isAttached = (clientId: string) => sessions.attached(clientId) || compat.hasClient(aedes, clientId);
    const offlineQueue = new OfflineQueueLimiter({ maxQueued: limits.maxQueuedMessages, isAttached, log: ctx.log });
    compat.guardPersistence(aedes, offlineQueue);
    return { aedes, sequencer, offlineQueue };
  } catch (err) {
    await new Promise<void>((resolve) => aedes.close(() => resolve()));
    throw err;
  }
}
