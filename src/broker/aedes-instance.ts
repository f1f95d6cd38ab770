// One aedes instance with gatehouse's five hooks, its event listeners, its persistence and every
// guard of aedes-compat.ts installed, listening (aedes' own listen(): persistence and emitter
// ready). The persistence restores what the previous run left (sessions, queues, retained
// messages, wills) during listen(); the wills of connections a crash cut are published and expired
// sessions removed before this returns, so before the listeners open.
import { Aedes, type Client } from 'aedes';
import { OfflineQueueLimiter } from './guards/offline-queue.js';
import { PublishSequencer } from './guards/publish-order.js';
import { authenticateHook, type AuthenticateContext } from './hooks/authenticate.js';
import { authorizeForwardHook } from './hooks/authorize-forward.js';
import { authorizePublishHook } from './hooks/authorize-publish.js';
import { authorizeSubscribeHook } from './hooks/authorize-subscribe.js';
import { listenToAedes } from './hooks/events.js';
import { preConnectHook } from './hooks/pre-connect.js';
import { boundedText, MAX_LOGGED_NAME_CHARS } from './log-bounds.js';
import { NO_DURABLE_STATE, type DurableBrokerState } from './persistence/durable-state.js';
import { GatehousePersistence } from './persistence/gatehouse-persistence.js';
import { publishLeftoverWills } from './persistence/leftover-wills.js';
import { SessionExpiry } from './persistence/session-expiry.js';

export interface AedesInstance {
  aedes: Aedes;
  /** Orders the gateway's own publishes (guards/publish-order.ts). */
  sequencer: PublishSequencer;
  /** broker.limits.max_queued_messages (guards/offline-queue.ts). */
  offlineQueue: OfflineQueueLimiter;
  persistence: GatehousePersistence;
  /** broker.limits.session_expiry_s (persistence/session-expiry.ts); started. */
  expiry: SessionExpiry;
}

const DAY_S = 86_400;

export async function startAedesInstance(
  ctx: AuthenticateContext,
  state: DurableBrokerState = NO_DURABLE_STATE,
  warnClientError: (fields: object, message: string) => void = () => undefined,
): Promise<AedesInstance> {
  const { limits, compat, sessions, log } = ctx;
  let listed: Aedes | undefined;
  // A session is not offline from its login (aedes subscribes a persistent session again right
  // after it) until its connection closes, and then while aedes still lists it.
  const isAttached = (clientId: string) => sessions.attached(clientId) || (listed !== undefined && compat.hasClient(listed, clientId));
  const offlineQueue = new OfflineQueueLimiter({ maxQueued: limits.maxQueuedMessages, isAttached, log });
  const persistence = new GatehousePersistence({
    state,
    queue: offlineQueue,
    // The gateway's own retained topics are published again at every start: never stored.
    volatileRetained: (topic) => ctx.classify(topic).type === 'reserved',
    ownerOf: (client) => sessions.get(client as Client)?.username,
  });
  const aedes = new Aedes({
    maxTopicLevels: limits.maxTopicLevels,
    connectTimeout: limits.connectTimeoutMs,
    drainTimeout: limits.drainTimeoutMs,
    persistence,
    preConnect: preConnectHook(ctx),
    authenticate: authenticateHook(ctx),
    authorizePublish: authorizePublishHook(ctx),
    authorizeSubscribe: authorizeSubscribeHook(ctx),
    authorizeForward: authorizeForwardHook(ctx),
  });
  listed = aedes;
  const expiry = new SessionExpiry({
    persistence,
    maxAgeMs: limits.sessionExpirySeconds * 1000,
    isAttached,
    report: (expired) => {
      const away = Math.round((Date.now() - expired.lastSeen) / 1000);
      ctx.security(
        {
          type: 'session_expired',
          clientId: expired.clientId,
          ...(expired.username !== undefined ? { username: expired.username } : {}),
          peer: 'unknown',
          reason: `away ${away} s, over broker.limits.session_expiry_s ${limits.sessionExpirySeconds} s (${(limits.sessionExpirySeconds / DAY_S).toFixed(1)} days); ${expired.queued} stored messages removed`,
        },
        'mqtt persistent session expired',
      );
    },
    onError: (err) => log.error({ err }, 'could not remove expired persistent sessions'),
  });
  try {
    const sequencer = new PublishSequencer();
    compat.guardEmitter(aedes, sequencer);
    listenToAedes(aedes, ctx, warnClientError);
    trackSessions(aedes, persistence, ctx);
    await aedes.listen();
    compat.guardPersistence(aedes);
    log.info({ persistence: persistence.location, ...persistence.restored }, 'broker state restored');
    const wills = await publishLeftoverWills({
      aedes,
      persistence,
      accessOf: (username) => ctx.authenticator.accessOf(username),
      classify: ctx.classify,
      maxTopicLength: limits.maxTopicLength,
      published: (topic, payload, retain, clientId) => {
        log.info({ clientId: boundedText(clientId, MAX_LOGGED_NAME_CHARS), topic }, 'mqtt will of a connection the previous run left open published');
        try {
          ctx.hooks.onPublished?.(topic, payload, retain, clientId);
        } catch (err) {
          log.error({ err }, 'onPublished hook threw');
        }
      },
      refused: (will, reason) =>
        ctx.security(
          { type: 'publish_denied', clientId: will.clientId, ...(will.username !== undefined ? { username: will.username } : {}), peer: 'unknown', topic: String(will.packet.topic), reason },
          'mqtt will refused',
        ),
    });
    if (wills.published + wills.refused > 0) log.info(wills, 'wills left by the previous run handled');
    await expiry.start();
    return { aedes, sequencer, offlineQueue, persistence, expiry };
  } catch (err) {
    await expiry.stop();
    await new Promise<void>((resolve) => aedes.close(() => resolve()));
    await persistence.drain().catch(() => undefined);
    throw err;
  }
}

/** When persistent sessions connect and leave (for broker.limits.session_expiry_s). */
function trackSessions(aedes: Aedes, persistence: GatehousePersistence, ctx: AuthenticateContext): void {
  aedes.on('clientReady', (client) => {
    if (client.clean === false) persistence.sessionAttached(client.id, ctx.sessions.get(client)?.username);
  });
  aedes.on('clientDisconnect', (client) => persistence.sessionDetached(client.id));
}
