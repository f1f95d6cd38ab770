// broker.limits.max_queued_messages: a bound on the QoS 1/2 messages aedes-persistence 11.0.0
// stores for a persistent session (CleanSession=0, MQTT 3.1.1 section 3.1.2.4) whose client is
// not connected. aedes 1.2.0 stores a copy of every QoS 1/2 message for every persistent
// subscriber (connected or not) before routing it (outgoingEnqueueCombi), removes it on
// PUBACK/PUBCOMP (outgoingClearMessageId), and sends the stored ones on reconnect, removing them
// at once for a clean-session reconnect. The memory persistence keeps them in a private array
// per client id with no bound, so this guard counts each session's stored messages by wrapping
// the calls that add and remove them.
//
// A full queue drops the NEWER message (as mosquitto's max_queued_messages does): the memory
// persistence offers no way to remove a stored message that was never sent, so the older ones
// stay and are delivered in order on reconnect. A connected client is never limited here: its
// stored copies are its messages in flight, bounded by broker.limits.max_inflight; and a copy
// aedes did not store would make aedes fail the live delivery (outgoingUpdate: "no such packet").
import type { Logger } from 'pino';
import { boundedText, MAX_LOGGED_NAME_CHARS } from '../log-bounds.js';

interface QueuedSub {
  clientId: string;
}

interface ClientRef {
  id: string;
}

/** The promise API of aedes-persistence 11 as aedes 1.2.0 calls it (never with a callback). */
interface OutgoingQueue {
  outgoingEnqueue(sub: QueuedSub, packet: unknown): Promise<unknown>;
  outgoingEnqueueCombi(subs: QueuedSub[], packet: unknown): Promise<unknown>;
  outgoingClearMessageId(client: ClientRef, packet: unknown): Promise<unknown>;
  outgoingUpdate(client: ClientRef, packet: unknown): Promise<unknown>;
}

interface SessionQueue {
  /** Messages stored for the session (never sent, or sent and not yet acknowledged). */
  queued: number;
  /** Messages dropped since the queue was last accepting: one burst. */
  dropped: number;
}

export interface OfflineQueueOptions {
  /** Stored messages per offline session; 0 = no limit. */
  maxQueued: number;
  /** Whether a client with this id is connected (or connecting): its session is not offline. */
  isAttached(clientId: string): boolean;
  log: Logger;
}

function isMemoryPersistence(p: unknown): p is OutgoingQueue {
  const candidate = p as (Partial<Record<keyof OutgoingQueue, unknown>> & { asyncPersistence?: unknown }) | null;
  if (typeof candidate !== 'object' || candidate === null) return false;
  // The counting mirrors the memory implementation's queue exactly; another persistence (or a
  // new version of this one) may add or remove stored messages elsewhere.
  const inner = candidate.asyncPersistence as object | undefined;
  if (candidate.constructor?.name !== 'CallBackPersistence' || inner?.constructor?.name !== 'MemoryPersistence') return false;
  return (['outgoingEnqueue', 'outgoingEnqueueCombi', 'outgoingClearMessageId', 'outgoingUpdate'] as const).every(
    (name) => typeof candidate[name] === 'function',
  );
}

export class OfflineQueueLimiter {
  private readonly sessions = new Map<string, SessionQueue>();
  private droppedTotal = 0;
  private queuedTotal = 0;

  constructor(private readonly options: OfflineQueueOptions) {}

  /** Messages dropped by the limit so far, and messages stored for persistent sessions now. */
  counters(): { queuedMessagesDropped: number; currentQueuedMessages: number } {
    return { queuedMessagesDropped: this.droppedTotal, currentQueuedMessages: this.queuedTotal };
  }

  /** Messages stored for one session now (0 when none). */
  queuedFor(clientId: string): number {
    return this.sessions.get(clientId)?.queued ?? 0;
  }

  /**
   * Wraps aedes' persistence; call it right after aedes.listen(), before any client connects.
   * Returns false, changing nothing, when the persistence is not aedes-persistence's memory one.
   */
  install(persistence: unknown): boolean {
    if (!isMemoryPersistence(persistence)) return false;
    const enqueue = persistence.outgoingEnqueue.bind(persistence);
    const enqueueCombi = persistence.outgoingEnqueueCombi.bind(persistence);
    const clear = persistence.outgoingClearMessageId.bind(persistence);
    const update = persistence.outgoingUpdate.bind(persistence);

    persistence.outgoingEnqueueCombi = (subs, packet) => {
      const accepted = subs.filter((sub) => this.admit(sub.clientId));
      if (accepted.length === 0) return Promise.resolve();
      return enqueueCombi(accepted, packet).catch((err: unknown) => {
        for (const sub of accepted) this.removed(sub.clientId);
        throw err;
      });
    };
    persistence.outgoingEnqueue = (sub, packet) => {
      if (!this.admit(sub.clientId)) return Promise.resolve();
      return enqueue(sub, packet).catch((err: unknown) => {
        this.removed(sub.clientId);
        throw err;
      });
    };
    // With nothing stored for the client the answers are known, and the memory persistence would
    // create an empty queue for its id that it never deletes: one per client id that ever sent a
    // PUBACK, clean session or not.
    persistence.outgoingClearMessageId = (client, packet) => {
      if (!this.sessions.has(client.id)) return Promise.resolve(undefined);
      return clear(client, packet).then((removed) => {
        if (removed) this.removed(client.id);
        return removed;
      });
    };
    persistence.outgoingUpdate = (client, packet) => {
      if (!this.sessions.has(client.id)) return Promise.reject(new Error('no such packet'));
      return update(client, packet);
    };
    return true;
  }

  /** Counts a message about to be stored for `clientId`, or returns false to drop it. */
  private admit(clientId: string): boolean {
    let session = this.sessions.get(clientId);
    const max = this.options.maxQueued;
    if (session && max > 0 && session.queued >= max && !this.options.isAttached(clientId)) {
      session.dropped++;
      this.droppedTotal++;
      if (session.dropped === 1) {
        this.options.log.warn(
          { clientId: boundedText(clientId, MAX_LOGGED_NAME_CHARS), limit: 'max_queued_messages', max, queued: session.queued },
          'mqtt offline session queue full: broker.limits.max_queued_messages reached; newer messages for it are dropped',
        );
      }
      return false;
    }
    if (!session) {
      session = { queued: 0, dropped: 0 };
      this.sessions.set(clientId, session);
    }
    this.endBurst(clientId, session);
    session.queued++;
    this.queuedTotal++;
    return true;
  }

  private removed(clientId: string): void {
    const session = this.sessions.get(clientId);
    if (!session) return;
    session.queued--;
    this.queuedTotal--;
    if (session.queued > 0) return;
    this.endBurst(clientId, session);
    this.sessions.delete(clientId);
  }

  private endBurst(clientId: string, session: SessionQueue): void {
    if (session.dropped === 0) return;
    this.options.log.info(
      { clientId: boundedText(clientId, MAX_LOGGED_NAME_CHARS), limit: 'max_queued_messages', dropped: session.dropped },
      'mqtt offline session queue accepting messages again',
    );
    session.dropped = 0;
  }
}
