// The link to the operator's cloud broker: an MQTT 3.1.1 client (MQTT.js) that drains the outbox.
//
// Each connection attempt is a fresh MQTT.js client with its own reconnect switched off: the
// backoff is ours, and nothing MQTT.js keeps in memory (its outgoing store, its queue) outlives a
// connection. The outbox is the only source of truth: a row leaves it on the PUBACK of that very
// PUBLISH (MQTT 3.1.1 section 4.3.2), and whatever was in flight when a connection ends is sent
// again on the next one (MQTT-4.4.0-1 describes the same for sessions; ours are clean).

import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import type { Socket } from 'node:net';
import { Backoff } from '../transport/backoff.js';
import { UplinkError } from './errors.js';
import type { Outbox, QueuedMessage } from './outbox.js';
import { RateMeter } from './rate-meter.js';

export type LinkState = 'stopped' | 'connecting' | 'birth' | 'up' | 'waiting';

export interface LinkMessage {
  topic: string;
  payload: Buffer | string;
  retain: boolean;
  /** Called on this message's PUBACK. */
  onAcked?: () => void;
}

export interface CloudCommandMessage {
  topic: string;
  payload: Buffer;
  dup: boolean;
  messageId?: number;
}

export interface CloudLinkOptions {
  /** mqtt://host:port or mqtts://host:port */
  url: string;
  clientId: string;
  username?: string;
  password?: Buffer;
  tls?: { ca?: Buffer; cert?: Buffer; key?: Buffer };
  keepaliveS: number;
  connectTimeoutMs: number;
  /** Published by the broker when the link dies without DISCONNECT (MQTT 3.1.1 section 3.1.2.5). */
  will: { topic: string; payload: string };
  /** Subscribed at QoS 1 on every connection (the session is clean, MQTT 3.1.1 section 3.1.2.4). */
  subscriptions: string[];
  /** PUBLISH packets awaiting PUBACK at most. */
  inflight: number;
  backoff: { initialMs: number; maxMs: number };
}

export interface CloudLinkHooks {
  /** The birth: published in order on every connection before the backlog, each acknowledged. */
  birth(): LinkMessage[];
  onCommand(message: CloudCommandMessage): void;
  onStateChange?(state: LinkState, detail: { error?: string; connection: number }): void;
}

export interface LinkLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  debug(obj: object, msg?: string): void;
}

export interface LinkStats {
  state: LinkState;
  /** Connections accepted by the broker (CONNACK) since start. */
  connections: number;
  connectedSince?: number;
  inFlight: number;
  sent: number;
  sentPerSecond: number;
  lastError?: string;
}

const RETRY_AFTER_STORE_ERROR_MS = 1000;
/**
 * Acknowledged rows are deleted in batches: when this many are waiting, or ACK_FLUSH_MS after the
 * first. A crash in between only means those messages are sent again.
 */
const ACK_BATCH = 64;
const ACK_FLUSH_MS = 5;
const DISCONNECT_GRACE_MS = 2000;

function disableNagle(client: MqttClient): void {
  const socket = client.stream as unknown as Partial<Socket> | undefined;
  if (typeof socket?.setNoDelay === 'function') socket.setNoDelay(true);
}

export class CloudLink {
  private client: MqttClient | undefined;
  /** Bumped per connection attempt; callbacks of an older connection are ignored. */
  private generation = 0;
  /** The connection whose publishes started failing, so it is ended (and logged) once. */
  private failedGeneration = -1;
  private state: LinkState = 'stopped';
  private running = false;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private afterAcks: NodeJS.Immediate | undefined;
  private ackTimer: NodeJS.Timeout | undefined;
  private inFlight = 0;
  private tookRows = false;
  private pendingAcks: number[] = [];
  private connections = 0;
  private connectedSince: number | undefined;
  private sent = 0;
  private lastError: string | undefined;
  private readonly rate = new RateMeter();
  private readonly backoff: Backoff;
  private readonly idleWaiters = new Set<() => void>();

  constructor(
    private readonly opts: CloudLinkOptions,
    private readonly outbox: Outbox,
    private readonly hooks: CloudLinkHooks,
    private readonly log: LinkLogger,
  ) {
    this.backoff = new Backoff({ initialMs: opts.backoff.initialMs, maxMs: opts.backoff.maxMs, jitter: 0.5 });
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.connect();
  }

  /** New rows were committed: send them if there is room. */
  notify(): void {
    if (this.state === 'up') this.scheduleAfterAcks();
  }

  stats(): LinkStats {
    return {
      state: this.state,
      connections: this.connections,
      ...(this.connectedSince !== undefined ? { connectedSince: this.connectedSince } : {}),
      inFlight: this.inFlight,
      sent: this.sent,
      sentPerSecond: this.rate.perSecond(),
      ...(this.lastError !== undefined ? { lastError: this.lastError } : {}),
    };
  }

  /**
   * Waits up to `flushMs` for the outbox to drain, then leaves. Drained: DISCONNECT, so the broker
   * discards the will (the `offline` the gateway queued was delivered). Not drained: the socket
   * is closed without DISCONNECT, so the broker publishes the will (MQTT-3.1.2-8).
   */
  async stop(flushMs: number): Promise<{ drained: boolean }> {
    if (!this.running) return { drained: this.isDrained() };
    this.running = false;
    clearTimeout(this.reconnectTimer);
    clearTimeout(this.retryTimer);
    if (this.state === 'up' && flushMs > 0) await this.waitIdle(flushMs);
    this.flushAcks();
    const drained = this.isDrained();
    const client = this.client;
    this.generation++;
    this.client = undefined;
    if (client) await this.closeClient(client, drained);
    this.afterConnectionEnded();
    this.setState('stopped');
    return { drained };
  }

  private isDrained(): boolean {
    try {
      return this.outbox.stats().depth === 0;
    } catch {
      return false;
    }
  }

  private waitIdle(timeoutMs: number): Promise<void> {
    if (this.isDrained()) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.idleWaiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      this.idleWaiters.add(done);
    });
  }

  private closeClient(client: MqttClient, graceful: boolean): Promise<void> {
    return new Promise((resolve) => {
      if (!graceful || !client.connected) {
        client.end(true);
        return resolve();
      }
      const timer = setTimeout(() => {
        client.end(true);
        resolve();
      }, DISCONNECT_GRACE_MS);
      client.end(false, {}, () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  private setState(state: LinkState, error?: string): void {
    if (error !== undefined) this.lastError = error;
    if (this.state === state) return;
    this.state = state;
    this.hooks.onStateChange?.(state, { ...(error !== undefined ? { error } : {}), connection: this.connections });
  }

  private connect(): void {
    if (!this.running) return;
    const generation = ++this.generation;
    this.setState('connecting');
    const { opts } = this;
    const options: IClientOptions = {
      protocolVersion: 4,
      clientId: opts.clientId,
      clean: true,
      keepalive: opts.keepaliveS,
      connectTimeout: opts.connectTimeoutMs,
      reconnectPeriod: 0,
      resubscribe: false,
      queueQoSZero: false,
      will: { topic: opts.will.topic, payload: Buffer.from(opts.will.payload), qos: 1, retain: true },
      ...(opts.username ? { username: opts.username } : {}),
      ...(opts.password ? { password: opts.password } : {}),
      ...(opts.tls?.ca ? { ca: opts.tls.ca } : {}),
      ...(opts.tls?.cert ? { cert: opts.tls.cert } : {}),
      ...(opts.tls?.key ? { key: opts.tls.key } : {}),
      rejectUnauthorized: true,
    };
    let client: MqttClient;
    try {
      client = mqtt.connect(opts.url, options);
    } catch (err) {
      this.log.error({ err: (err as Error).message }, 'cloud link: cannot create the MQTT client');
      this.scheduleReconnect((err as Error).message);
      return;
    }
    this.client = client;
    disableNagle(client);
    client.on('connect', () => {
      disableNagle(client);
      void this.onConnected(client, generation);
    });
    client.on('message', (topic, payload, packet) => this.onMessage(topic, payload, packet));
    client.on('error', (err) => {
      if (generation === this.generation) this.lastError = err.message;
      this.log.debug({ err: err.message }, 'cloud link error');
    });
    client.on('close', () => this.onClosed(client, generation));
  }

  private async onConnected(client: MqttClient, generation: number): Promise<void> {
    // Counted at CONNACK, so the gateway state in the birth already carries this connection's number.
    this.connections++;
    this.setState('birth');
    try {
      if (this.opts.subscriptions.length > 0) {
        const granted = await client.subscribeAsync(Object.fromEntries(this.opts.subscriptions.map((topic) => [topic, { qos: 1 as const }])));
        const refused = granted.filter((g) => g.qos === 128).map((g) => g.topic);
        if (refused.length > 0) this.log.warn({ refused }, 'cloud broker refused command subscriptions (SUBACK 0x80); commands on them will not arrive');
      }
      if (generation !== this.generation) return;
      await this.publishInOrder(client, this.hooks.birth());
    } catch (err) {
      if (generation !== this.generation) return;
      this.log.warn({ err: (err as Error).message }, 'cloud link: subscribe or birth failed; reconnecting');
      client.end(true);
      this.onClosed(client, generation);
      return;
    }
    if (generation !== this.generation) return;
    this.backoff.reset();
    this.connectedSince = Date.now();
    this.lastError = undefined;
    this.setState('up');
    this.pump();
  }

  /** Birth messages with the same window as the backlog; resolves once every one was acknowledged. */
  private async publishInOrder(client: MqttClient, messages: LinkMessage[]): Promise<void> {
    for (let i = 0; i < messages.length; i += this.opts.inflight) {
      const window = messages.slice(i, i + this.opts.inflight);
      await Promise.all(
        window.map(async (m) => {
          await client.publishAsync(m.topic, m.payload, { qos: 1, retain: m.retain });
          m.onAcked?.();
        }),
      ).catch((err: Error) => {
        throw new UplinkError('UPLINK_BIRTH_FAILED', `birth not acknowledged: ${err.message}`, { cause: err });
      });
    }
  }

  private onMessage(topic: string, payload: Buffer, packet: { retain?: boolean; dup?: boolean; messageId?: number }): void {
    // A retained command was stored at the cloud broker some time ago and is replayed by our
    // SUBSCRIBE (MQTT-3.3.1-8): never act on it.
    if (packet.retain) {
      this.log.warn({ topic }, 'ignored a retained command from the cloud (stale; clear it at the broker)');
      return;
    }
    try {
      this.hooks.onCommand({ topic, payload, dup: Boolean(packet.dup), ...(packet.messageId !== undefined ? { messageId: packet.messageId } : {}) });
    } catch (err) {
      this.log.error({ err, topic }, 'cloud command hook threw');
    }
  }

  private onClosed(client: MqttClient, generation: number): void {
    if (generation !== this.generation) return;
    this.generation++;
    const wasUp = this.state === 'up';
    const error = this.lastError;
    client.end(true);
    this.client = undefined;
    this.afterConnectionEnded();
    if (wasUp) this.log.warn({ err: error, connection: this.connections }, 'cloud link down');
    this.scheduleReconnect(error);
  }

  /** Acks already received are written; everything still in flight is pending again. */
  private afterConnectionEnded(): void {
    if (this.afterAcks) clearImmediate(this.afterAcks);
    this.afterAcks = undefined;
    this.flushAcks();
    if (this.tookRows) {
      try {
        this.outbox.release();
      } catch (err) {
        this.log.error({ err: (err as Error).message }, 'outbox release failed');
      }
    }
    this.tookRows = false;
    this.inFlight = 0;
    this.connectedSince = undefined;
  }

  private scheduleReconnect(error?: string): void {
    if (!this.running) return;
    const first = this.backoff.attempt === 0;
    const delay = this.backoff.next();
    this.setState('waiting', error);
    // The first failure is worth a warning; the retries of a long outage are not.
    if (first) this.log.warn({ url: this.opts.url, err: error, retry_in_ms: delay }, 'cloud link cannot connect; retrying with backoff');
    else this.log.debug({ delay_ms: delay, err: error }, 'cloud link: reconnecting after backoff');
    this.reconnectTimer = setTimeout(() => this.connect(), delay);
  }

  private scheduleAfterAcks(): void {
    this.afterAcks ??= setImmediate(() => {
      this.afterAcks = undefined;
      if (this.pendingAcks.length >= ACK_BATCH || this.idleWaiters.size > 0) this.flushAcks();
      else if (this.pendingAcks.length > 0) this.ackTimer ??= setTimeout(() => this.flushAcks(), ACK_FLUSH_MS);
      this.pump();
    });
  }

  private pump(): void {
    const client = this.client;
    if (this.state !== 'up' || !client) return;
    const room = this.opts.inflight - this.inFlight;
    if (room <= 0) return;
    let rows: QueuedMessage[];
    try {
      rows = this.outbox.take(room);
    } catch (err) {
      this.log.error({ err: (err as Error).message }, 'outbox read failed; retrying');
      clearTimeout(this.retryTimer);
      this.retryTimer = setTimeout(() => this.pump(), RETRY_AFTER_STORE_ERROR_MS);
      return;
    }
    if (rows.length === 0) {
      if (this.inFlight === 0) this.wakeIdleWaiters();
      return;
    }
    this.tookRows = true;
    const generation = this.generation;
    for (const row of rows) {
      this.inFlight++;
      client.publish(row.topic, row.payload, { qos: 1, retain: row.class === 'retained' }, (err) => this.onPuback(generation, client, row, err));
    }
  }

  private onPuback(generation: number, client: MqttClient, row: QueuedMessage, err: Error | undefined): void {
    if (generation !== this.generation) return;
    if (err) {
      // Only a PUBACK deletes a row. A failed publish means this connection is no good (MQTT.js
      // fails every outstanding QoS 1 callback on a keepalive timeout while still "connected"):
      // end it, so every row in flight is released and sent again on the next connection.
      if (this.failedGeneration !== generation) {
        this.failedGeneration = generation;
        this.lastError = err.message;
        this.log.warn({ err: err.message, topic: row.topic, seq: row.seq }, 'cloud link publish failed; reconnecting, the message stays in the outbox');
        // Not from inside MQTT.js's own callback loop: it is still iterating its outgoing store.
        setImmediate(() => this.onClosed(client, generation));
      }
      return;
    }
    this.sent++;
    this.rate.add();
    this.inFlight--;
    this.pendingAcks.push(row.seq);
    this.scheduleAfterAcks();
  }

  private flushAcks(): void {
    clearTimeout(this.ackTimer);
    this.ackTimer = undefined;
    if (this.pendingAcks.length === 0) return;
    const seqs = this.pendingAcks;
    this.pendingAcks = [];
    try {
      this.outbox.ack(seqs);
    } catch (err) {
      // The rows stay; they are sent again after the next reconnect (a bounded duplicate).
      this.log.error({ err: (err as Error).message, rows: seqs.length }, 'outbox delete failed');
    }
    if (this.idleWaiters.size > 0 && this.isDrained()) this.wakeIdleWaiters();
  }

  private wakeIdleWaiters(): void {
    for (const wake of [...this.idleWaiters]) wake();
  }
}
