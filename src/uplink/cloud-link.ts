// The link to the operator's cloud broker: an MQTT 3.1.1 or MQTT 5 client (MQTT.js) that drains the
// outbox.
//
// Each connection attempt is a fresh MQTT.js client with its own reconnect switched off: the
// backoff is ours, and nothing MQTT.js keeps in memory (its outgoing store, its queue) outlives a
// connection. The outbox is the only source of truth: a row leaves it on the PUBACK of that very
// PUBLISH (MQTT 3.1.1 section 4.3.2), and whatever was in flight when a connection ends is sent
// again on the next one (MQTT-4.4.0-1 describes the same for sessions; ours are clean).
//
// MQTT 5 (uplink.protocol "5") adds: Session Expiry 0 with Clean Start (the clean session of 3.1.1),
// our Receive Maximum, the broker's Receive Maximum and Maximum Packet Size from its CONNACK
// respected, reason codes recorded, user properties on every PUBLISH, and request/response.
//
// A broker cluster: `url` may list several nodes. The node list is walked in our own reconnect loop
// rather than by MQTT.js's `servers` option, which only rotates inside MQTT.js's own reconnect (off
// here, see above) and would hide which node a connection went to. A failed connect or a lost
// connection moves on to the next node in the list, after the same backoff and jitter as with one
// node; a node that works is kept until it fails. Every connection, whichever node, starts with the
// birth, and the outbox (unacknowledged rows included) is replayed to that node.
//
// RabbitMQ 3.10's MQTT plugin keeps a client's QoS 1 subscriptions in a durable queue named after
// its client id, on the node it was connected to; while that node is down, a SUBSCRIBE at QoS 1
// with the same client id on another node is answered by closing the connection. So when a node of
// a list closes the connection on our SUBSCRIBE, the next connections to that node subscribe at QoS 0 for
// a while (SUBSCRIBE_QOS0_FALLBACK_MS): the birth and the outbox flow, and commands still arrive,
// at most once, instead of the link going round the nodes for as long as the node is down.

import mqtt, { type IClientOptions, type IConnackPacket, type IPublishPacket, type MqttClient, type Packet } from 'mqtt';
import type { Socket } from 'node:net';
import { Backoff } from '../transport/backoff.js';
import { UplinkError } from './errors.js';
import { hex, publishPacketSize, reasonName, type BrokerLimits, type BrokerReason, type PublishProperties, type UplinkProtocol } from './mqtt5.js';
import type { MessageClass, Outbox, QueuedMessage } from './outbox.js';
import { RateMeter } from './rate-meter.js';

export type { BrokerLimits, BrokerReason, UplinkProtocol } from './mqtt5.js';

export type LinkState = 'stopped' | 'connecting' | 'birth' | 'up' | 'waiting';

export interface LinkMessage {
  topic: string;
  payload: Buffer | string;
  retain: boolean;
  /** Its outbox class: the `class` user property under MQTT 5 (default telemetry, retained when retain). */
  class?: MessageClass;
  /** MQTT 5 Correlation Data, for a response (section 4.10). */
  correlationData?: Buffer;
  /** Called on this message's PUBACK. */
  onAcked?: () => void;
}

export interface CloudCommandMessage {
  topic: string;
  payload: Buffer;
  dup: boolean;
  messageId?: number;
  /** When it arrived, epoch ms. */
  receivedAt: number;
  /** MQTT 5: what was left of the sender's Message Expiry Interval when the broker sent it, seconds. */
  expiryIntervalS?: number;
  /** MQTT 5 request/response (section 4.10). */
  responseTopic?: string;
  correlationData?: Buffer;
}

export interface CloudLinkOptions {
  /** mqtt://host:port or mqtts://host:port; a list for the nodes of a cluster, tried in turn. */
  url: string | readonly string[];
  /** Default 3.1.1. */
  protocol?: UplinkProtocol;
  /** MQTT 5: user properties on every PUBLISH (and the will); `class` is added per message. */
  userProperties?: Record<string, string>;
  clientId: string;
  username?: string;
  password?: Buffer;
  tls?: { ca?: Buffer; cert?: Buffer; key?: Buffer };
  keepaliveS: number;
  connectTimeoutMs: number;
  /** Published by the broker when the link dies without DISCONNECT (MQTT 3.1.1 section 3.1.2.5). */
  will: { topic: string; payload: string };
  /** Subscribed at QoS 1 (0 in the fallback above) on every connection (the session is clean, MQTT 3.1.1 section 3.1.2.4). */
  subscriptions: string[];
  /** PUBLISH packets awaiting PUBACK at most (fewer when the broker's Receive Maximum says so); our Receive Maximum under MQTT 5. */
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
  protocol: UplinkProtocol;
  /** The current connection's CONNACK limits (MQTT 5); undefined while not connected. */
  brokerLimits?: BrokerLimits;
  /** Messages the broker refused with a PUBACK reason code >= 0x80 (deleted from the outbox). */
  refused: number;
  /** Messages larger than the broker's Maximum Packet Size: never sent, deleted from the outbox. */
  tooLarge: number;
  /** The last refusal or DISCONNECT reason code the broker sent. */
  lastReason?: BrokerReason;
  /** The node connected to, or being tried (its URL, which never carries credentials). */
  node: string;
  /** The QoS of the command subscriptions on this connection: 1, or 0 after a node closed the connection on them. */
  commandQos: 0 | 1;
  /** Its place in the configured list, from 0. */
  nodeIndex: number;
  /** How many nodes are configured. */
  nodes: number;
}

const RETRY_AFTER_STORE_ERROR_MS = 1000;
/**
 * Acknowledged rows are deleted in batches: when this many are waiting, or ACK_FLUSH_MS after the
 * first. A crash in between only means those messages are sent again.
 */
const ACK_BATCH = 64;
const ACK_FLUSH_MS = 5;
const DISCONNECT_GRACE_MS = 2000;
/** Responses (MQTT 5 request/response) waiting for the link, at most; they live in memory only. */
const MAX_PENDING_RESPONSES = 1000;
/** How long the command subscriptions are made at QoS 0 on a node that closed the connection on a QoS 1 SUBSCRIBE. */
const SUBSCRIBE_QOS0_FALLBACK_MS = 10 * 60_000;
/** The same refusal (packet and code) is logged at warn at most this often; the rest at debug, counted. */
const REASON_LOG_INTERVAL_MS = 60_000;

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
  private readonly protocol: UplinkProtocol;
  private limits: BrokerLimits | undefined;
  private refused = 0;
  private tooLarge = 0;
  private lastReason: BrokerReason | undefined;
  private readonly reasonLogs = new Map<string, { at: number; since: number }>();
  /** Responses waiting for room on the link, and those sent and not yet acknowledged. */
  private responses: LinkMessage[] = [];
  private readonly responsesInFlight = new Set<LinkMessage>();
  private readonly urls: readonly string[];
  /** The node of the current (or next) connection attempt, an index into urls. */
  private nodeIndex = 0;
  /** Per node: when it closed the connection on a QoS 1 SUBSCRIBE (see the header). */
  private readonly subscribeClosedAt = new Map<number, number>();
  private commandQos: 0 | 1 = 1;
  /** The connection (generation) whose command SUBSCRIBE awaits its SUBACK. */
  private subscribing: number | undefined;

  constructor(
    private readonly opts: CloudLinkOptions,
    private readonly outbox: Outbox,
    private readonly hooks: CloudLinkHooks,
    private readonly log: LinkLogger,
  ) {
    this.backoff = new Backoff({ initialMs: opts.backoff.initialMs, maxMs: opts.backoff.maxMs, jitter: 0.5 });
    this.protocol = opts.protocol ?? '3.1.1';
    this.urls = typeof opts.url === 'string' ? [opts.url] : [...opts.url];
    if (this.urls.length === 0) throw new RangeError('cloud link: no broker URL');
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

  /**
   * A response to an MQTT 5 request: sent ahead of the backlog, within the same window, again after
   * a reconnect if it was not acknowledged; kept in memory only (its result is in the outbox).
   */
  respond(message: LinkMessage): void {
    if (!this.running) return;
    this.responses.push(message);
    if (this.responses.length > MAX_PENDING_RESPONSES) {
      const dropped = this.responses.shift()!;
      this.log.warn({ topic: dropped.topic, pending: MAX_PENDING_RESPONSES }, 'too many responses waiting for the cloud link; dropped the oldest (its result stays in the outbox)');
    }
    this.notify();
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
      protocol: this.protocol,
      ...(this.limits ? { brokerLimits: { ...this.limits } } : {}),
      refused: this.refused,
      tooLarge: this.tooLarge,
      ...(this.lastReason ? { lastReason: { ...this.lastReason } } : {}),
      node: this.urls[this.nodeIndex],
      commandQos: this.commandQos,
      nodeIndex: this.nodeIndex,
      nodes: this.urls.length,
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
    if (this.responses.length > 0 || this.responsesInFlight.size > 0) return false;
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
    const v5 = this.protocol === '5';
    const options: IClientOptions = {
      protocolVersion: v5 ? 5 : 4,
      clientId: opts.clientId,
      // MQTT 5 section 3.1.2.4 and 3.1.2.11.2: Clean Start with Session Expiry 0 is 3.1.1's clean
      // session; nothing the broker held for us while we were away is delivered.
      clean: true,
      ...(v5 ? { properties: { sessionExpiryInterval: 0, receiveMaximum: opts.inflight } } : {}),
      keepalive: opts.keepaliveS,
      connectTimeout: opts.connectTimeoutMs,
      reconnectPeriod: 0,
      resubscribe: false,
      queueQoSZero: false,
      will: {
        topic: opts.will.topic,
        payload: Buffer.from(opts.will.payload),
        qos: 1,
        retain: true,
        ...(v5 ? { properties: { userProperties: this.userProperties('retained') } } : {}),
      },
      ...(opts.username ? { username: opts.username } : {}),
      ...(opts.password ? { password: opts.password } : {}),
      ...(opts.tls?.ca ? { ca: opts.tls.ca } : {}),
      ...(opts.tls?.cert ? { cert: opts.tls.cert } : {}),
      ...(opts.tls?.key ? { key: opts.tls.key } : {}),
      rejectUnauthorized: true,
    };
    let client: MqttClient;
    try {
      client = mqtt.connect(this.urls[this.nodeIndex], options);
    } catch (err) {
      this.log.error({ err: (err as Error).message, node: this.urls[this.nodeIndex] }, 'cloud link: cannot create the MQTT client');
      this.scheduleReconnect((err as Error).message);
      return;
    }
    this.client = client;
    disableNagle(client);
    client.on('connect', (connack) => {
      disableNagle(client);
      void this.onConnected(client, generation, connack);
    });
    client.on('packetreceive', (packet) => this.onPacket(packet, generation));
    client.on('message', (topic, payload, packet) => this.onMessage(topic, payload, packet));
    client.on('error', (err) => {
      if (generation === this.generation) this.lastError = err.message;
      this.log.debug({ err: err.message }, 'cloud link error');
    });
    client.on('close', () => this.onClosed(client, generation));
  }

  private async onConnected(client: MqttClient, generation: number, connack: IConnackPacket): Promise<void> {
    // Counted at CONNACK, so the gateway state in the birth already carries this connection's number.
    this.connections++;
    if (this.protocol === '5') {
      const { receiveMaximum, maximumPacketSize } = connack.properties ?? {};
      this.limits = { ...(receiveMaximum !== undefined ? { receiveMaximum } : {}), ...(maximumPacketSize !== undefined ? { maximumPacketSize } : {}) };
      if (receiveMaximum !== undefined || maximumPacketSize !== undefined) {
        this.log.debug({ receive_maximum: receiveMaximum ?? null, maximum_packet_size: maximumPacketSize ?? null, window: this.window() }, 'cloud broker limits (CONNACK)');
      }
    }
    this.setState('birth');
    const node = this.nodeIndex;
    const closedAt = this.subscribeClosedAt.get(node);
    this.commandQos = closedAt !== undefined && Date.now() - closedAt < SUBSCRIBE_QOS0_FALLBACK_MS ? 0 : 1;
    try {
      if (this.opts.subscriptions.length > 0) {
        this.subscribing = generation;
        await this.subscribe(client, this.commandQos);
        this.subscribing = undefined;
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

  /**
   * The command subscriptions at QoS 1. A filter the broker refuses (SUBACK 0x80, or an MQTT 5
   * reason code >= 0x80 such as 0x87 from its ACL) is logged and recorded; the link stays up for the
   * rest (reconnecting would only be refused again).
   */
  private subscribe(client: MqttClient, qos: 0 | 1): Promise<void> {
    const filters = this.opts.subscriptions;
    return new Promise((resolve, reject) => {
      client.subscribe(Object.fromEntries(filters.map((topic) => [topic, { qos }])), (err, _granted, suback) => {
        const codes = suback?.granted.map((g) => (typeof g === 'number' ? g : 0x80));
        if (!codes || codes.length !== filters.length) return err ? reject(err) : resolve();
        const refused = filters.map((filter, i) => ({ filter, code: codes[i] })).filter((g) => g.code >= 0x80);
        for (const { filter, code } of refused) this.recordReason('suback', code, { topic: filter, detail: suback?.properties?.reasonString }, false);
        if (refused.length > 0) {
          this.log.warn(
            { refused: refused.map((r) => `${r.filter} (${hex(r.code)} ${reasonName(r.code, this.protocol, 'suback')})`) },
            'cloud broker refused command subscriptions; commands on them will not arrive',
          );
        }
        resolve();
      });
    });
  }

  /** Birth messages with the same window as the backlog; resolves once every one was acknowledged. */
  private async publishInOrder(client: MqttClient, messages: LinkMessage[]): Promise<void> {
    const sendable = messages.filter((m) => !this.dropIfTooLarge(m, this.properties(m)));
    for (let i = 0; i < sendable.length; i += this.window()) {
      const window = sendable.slice(i, i + this.window());
      await Promise.all(
        window.map(
          (m) =>
            new Promise<void>((resolve, reject) => {
              client.publish(m.topic, m.payload, this.publishOptions(m), (err, packet) => {
                if (this.refusedByBroker(err, packet, m.topic)) return resolve();
                if (err) return reject(err);
                m.onAcked?.();
                resolve();
              });
            }),
        ),
      ).catch((err: Error) => {
        throw new UplinkError('UPLINK_BIRTH_FAILED', `birth not acknowledged: ${err.message}`, { cause: err });
      });
    }
  }

  private onMessage(topic: string, payload: Buffer, packet: IPublishPacket): void {
    const receivedAt = Date.now();
    // A retained command was stored at the cloud broker some time ago and is replayed by our
    // SUBSCRIBE (MQTT-3.3.1-8): never act on it.
    if (packet.retain) {
      this.log.warn({ topic }, 'ignored a retained command from the cloud (stale; clear it at the broker)');
      return;
    }
    const props = this.protocol === '5' ? packet.properties : undefined;
    try {
      this.hooks.onCommand({
        topic,
        payload,
        dup: Boolean(packet.dup),
        ...(packet.messageId !== undefined ? { messageId: packet.messageId } : {}),
        receivedAt,
        ...(props?.messageExpiryInterval !== undefined ? { expiryIntervalS: props.messageExpiryInterval } : {}),
        ...(props?.responseTopic !== undefined ? { responseTopic: props.responseTopic } : {}),
        ...(props?.correlationData !== undefined ? { correlationData: Buffer.from(props.correlationData) } : {}),
      });
    } catch (err) {
      this.log.error({ err, topic }, 'cloud command hook threw');
    }
  }

  /** CONNACK refusals and the broker's DISCONNECT, whatever happens to the connection next. */
  private onPacket(packet: Packet, generation: number): void {
    if (generation !== this.generation) return;
    if (packet.cmd === 'connack') {
      const code = (this.protocol === '5' ? packet.reasonCode : packet.returnCode) ?? 0;
      if (code !== 0) this.recordReason('connack', code, { detail: packet.properties?.reasonString });
    } else if (packet.cmd === 'disconnect' && packet.reasonCode !== undefined) {
      // MQTT 5 section 3.14: the server says why it closes the connection (0x8E session taken over,
      // 0x95 packet too large, 0x8B shutting down ...).
      this.recordReason('disconnect', packet.reasonCode, { detail: packet.properties?.reasonString });
    }
  }

  /** True when this PUBLISH got a PUBACK with a reason code >= 0x80 (MQTT 5 section 3.4.2.1): recorded, and final. */
  private refusedByBroker(err: Error | undefined, packet: Packet | undefined, topic: string): boolean {
    if (!err || packet?.cmd !== 'puback' || packet.reasonCode === undefined || packet.reasonCode < 0x80) return false;
    this.refused++;
    this.recordReason('puback', packet.reasonCode, { topic, detail: packet.properties?.reasonString });
    return true;
  }

  /** Keeps the reason as the last one and logs it (unless `log` is false: the caller logs a summary). */
  private recordReason(packet: BrokerReason['packet'], code: number, about: { topic?: string; detail?: string | undefined }, log = true): void {
    const at = Date.now();
    const reason = reasonName(code, this.protocol, packet);
    this.lastReason = { packet, code, reason, ...(about.detail ? { detail: about.detail } : {}), ...(about.topic !== undefined ? { topic: about.topic } : {}), at };
    if (packet === 'connack' || packet === 'disconnect') this.lastError = `${packet.toUpperCase()} ${hex(code)} ${reason}${about.detail ? `: ${about.detail}` : ''}`;
    if (!log) return;
    const fields = { packet, code: hex(code), reason, ...(about.detail ? { detail: about.detail } : {}), ...(about.topic !== undefined ? { topic: about.topic } : {}) };
    const key = `${packet}:${code}`;
    const seen = this.reasonLogs.get(key);
    if (seen && at - seen.at < REASON_LOG_INTERVAL_MS) {
      seen.since++;
      this.log.debug(fields, 'cloud broker reason code');
      return;
    }
    this.reasonLogs.set(key, { at, since: 0 });
    const msg = {
      connack: 'cloud broker refused the connection',
      disconnect: 'cloud broker closed the connection with a reason code',
      puback: 'cloud broker refused a message (PUBACK reason code); it is deleted from the outbox, not sent again',
      suback: 'cloud broker refused a subscription; commands on it will not arrive',
    }[packet];
    this.log.warn({ ...fields, ...(seen ? { same_since_last_log: seen.since } : {}) }, msg);
  }

  /** What may be unacknowledged at once: ours, or the broker's Receive Maximum when lower (MQTT-3.3.4-9). */
  private window(): number {
    return Math.min(this.opts.inflight, this.limits?.receiveMaximum ?? Infinity);
  }

  private userProperties(cls: MessageClass): Record<string, string> {
    return { ...this.opts.userProperties, class: cls };
  }

  private properties(m: { retain: boolean; class?: MessageClass; correlationData?: Buffer }): PublishProperties | undefined {
    if (this.protocol !== '5') return undefined;
    return {
      userProperties: this.userProperties(m.class ?? (m.retain ? 'retained' : 'telemetry')),
      ...(m.correlationData ? { correlationData: m.correlationData } : {}),
    };
  }

  private publishOptions(m: { retain: boolean; class?: MessageClass; correlationData?: Buffer }): { qos: 1; retain: boolean; properties?: PublishProperties } {
    const properties = this.properties(m);
    return { qos: 1, retain: m.retain, ...(properties ? { properties } : {}) };
  }

  /**
   * A PUBLISH larger than the broker's Maximum Packet Size must not be sent (MQTT-3.1.2-24); the
   * broker would close the connection, and the message would block the outbox for ever. Logged,
   * counted, and left out.
   */
  private dropIfTooLarge(m: { topic: string; payload: Buffer | string }, properties: PublishProperties | undefined): boolean {
    const max = this.limits?.maximumPacketSize;
    if (max === undefined) return false;
    const bytes = typeof m.payload === 'string' ? Buffer.byteLength(m.payload, 'utf8') : m.payload.length;
    const size = publishPacketSize(this.protocol, m.topic, bytes, properties);
    if (size <= max) return false;
    this.tooLarge++;
    this.log.warn({ topic: m.topic, packet_bytes: size, maximum_packet_size: max, too_large: this.tooLarge }, 'message larger than the cloud broker\'s maximum packet size; dropped without sending');
    return true;
  }

  private onClosed(client: MqttClient, generation: number): void {
    if (generation !== this.generation) return;
    if (this.subscribing === generation && this.commandQos === 1 && this.urls.length > 1) this.subscribeClosed();
    this.subscribing = undefined;
    this.generation++;
    const wasUp = this.state === 'up';
    const error = this.lastError;
    client.end(true);
    this.client = undefined;
    this.afterConnectionEnded();
    if (wasUp) this.log.warn({ err: error, connection: this.connections, node: this.urls[this.nodeIndex] }, 'cloud link down');
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
    this.limits = undefined;
    // Responses sent and not acknowledged go out again on the next connection.
    if (this.responsesInFlight.size > 0) this.responses.unshift(...this.responsesInFlight);
    this.responsesInFlight.clear();
  }

  /** The broker closed the connection on our QoS 1 SUBSCRIBE: QoS 0 on this node for a while (see the header). */
  private subscribeClosed(): void {
    this.subscribeClosedAt.set(this.nodeIndex, Date.now());
    this.log.warn(
      { node: this.urls[this.nodeIndex], err: this.lastError, qos0_for_ms: SUBSCRIBE_QOS0_FALLBACK_MS },
      'cloud broker closed the connection on the command SUBSCRIBE at QoS 1 (RabbitMQ 3.10: the session\'s queue is on a node that is down); subscribing at QoS 0 on this node for a while',
    );
  }

  /** A cluster: the next connection attempt goes to the next node in the list (round robin). */
  private nextNode(): void {
    this.nodeIndex = (this.nodeIndex + 1) % this.urls.length;
  }

  /** Waits the backoff, then connects to the next node (the same one when there is only one). */
  private scheduleReconnect(error?: string): void {
    if (!this.running) return;
    const failed = this.urls[this.nodeIndex];
    this.nextNode();
    const first = this.backoff.attempt === 0;
    const delay = this.backoff.next();
    this.setState('waiting', error);
    const next = this.urls.length > 1 ? { next_url: this.urls[this.nodeIndex] } : {};
    // The first failure is worth a warning; the retries of a long outage are not.
    if (first) this.log.warn({ url: failed, ...next, err: error, retry_in_ms: delay }, 'cloud link cannot connect; retrying with backoff');
    else this.log.debug({ delay_ms: delay, err: error, url: failed, ...next }, 'cloud link: reconnecting after backoff');
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
    let room = this.window() - this.inFlight;
    while (room > 0 && this.responses.length > 0) {
      const response = this.responses.shift()!;
      if (this.dropIfTooLarge(response, this.properties(response))) continue;
      this.sendResponse(client, response);
      room--;
    }
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
      if (this.inFlight === 0 && this.responses.length === 0) this.wakeIdleWaiters();
      return;
    }
    this.tookRows = true;
    const generation = this.generation;
    let dropped = false;
    for (const row of rows) {
      const retain = row.class === 'retained';
      const properties = this.properties({ retain, class: row.class });
      if (this.dropIfTooLarge(row, properties)) {
        this.pendingAcks.push(row.seq);
        dropped = true;
        continue;
      }
      this.inFlight++;
      client.publish(row.topic, row.payload, { qos: 1, retain, ...(properties ? { properties } : {}) }, (err, packet) => this.onPuback(generation, client, row, err, packet));
    }
    if (dropped) this.scheduleAfterAcks();
  }

  private sendResponse(client: MqttClient, response: LinkMessage): void {
    const generation = this.generation;
    this.inFlight++;
    this.responsesInFlight.add(response);
    client.publish(response.topic, response.payload, this.publishOptions(response), (err, packet) => {
      if (generation !== this.generation) return;
      const refused = this.refusedByBroker(err, packet, response.topic);
      if (err && !refused) return this.linkFailed(generation, client, err, { topic: response.topic });
      this.responsesInFlight.delete(response);
      if (!refused) {
        this.sent++;
        this.rate.add();
        response.onAcked?.();
      }
      this.inFlight--;
      this.scheduleAfterAcks();
    });
  }

  private onPuback(generation: number, client: MqttClient, row: QueuedMessage, err: Error | undefined, packet: Packet | undefined): void {
    if (generation !== this.generation) return;
    const refused = this.refusedByBroker(err, packet, row.topic);
    if (err && !refused) return this.linkFailed(generation, client, err, { topic: row.topic, seq: row.seq });
    if (!refused) {
      this.sent++;
      this.rate.add();
    }
    this.inFlight--;
    this.pendingAcks.push(row.seq);
    this.scheduleAfterAcks();
  }

  /**
   * Only a PUBACK deletes a row. A failed publish means this connection is no good (MQTT.js fails
   * every outstanding QoS 1 callback on a keepalive timeout while still "connected"): end it, so
   * every row in flight is released and sent again on the next connection.
   */
  private linkFailed(generation: number, client: MqttClient, err: Error, about: { topic: string; seq?: number }): void {
    if (this.failedGeneration === generation) return;
    this.failedGeneration = generation;
    this.lastError = err.message;
    this.log.warn({ err: err.message, ...about }, 'cloud link publish failed; reconnecting, the message stays in the outbox');
    // Not from inside MQTT.js's own callback loop: it is still iterating its outgoing store.
    setImmediate(() => this.onClosed(client, generation));
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
