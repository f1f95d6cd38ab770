// The embedded MQTT 3.1.1 broker: aedes behind gatehouse's authentication, ACL and topic contract.
import { Aedes, type AedesPublishPacket, type Client, type ConnectPacket, type PublishPacket, type Subscription } from 'aedes';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { isDeepStrictEqual } from 'node:util';
import type { Logger } from 'pino';
import type { TopicClass } from '../topics.js';
import { Acl, validateTopicFilter, validateTopicName } from './acl.js';
import { Authenticator, CONNACK_NOT_AUTHORIZED, type AnonymousAccess, type UserEntry } from './auth.js';
import { ConnectionCounter, DEFAULT_CLIENT_LIMITS, subscribeLimitExceeded } from './client-limits.js';
import { BrokerError } from './errors.js';
import { applyForwardPolicy, type GrantedQos } from './forward-policy.js';
import { guardMqEmitterDepth } from './guards/mqemitter-depth.js';
import { installPacketIdAllocator } from './guards/packet-id-allocator.js';
import { OfflineQueueLimiter } from './guards/offline-queue.js';
import { markResentDup } from './guards/persistence-dup.js';
import { GuardedConnection, SessionRegistry } from './guards/protocol-guard.js';
import { PublishSequencer } from './guards/publish-order.js';
import { buildListeners, type ConnectionInfo, type ListenerKind, type ListenerSettings, type Listener, type PeerCertificateInfo, type TlsSecurity } from './listeners.js';
import { LoginGuard } from './login-guard.js';
import { boundedText, MAX_LOGGED_NAME_CHARS, MAX_LOGGED_TOPIC_CHARS, WarnThrottle } from './log-bounds.js';
import { DEFAULT_LOGIN_LIMITS, type LoginLimiterOptions } from './login-limiter.js';
import { decidePublish } from './publish-policy.js';

export type { UserEntry } from './auth.js';

export interface BrokerOptions {
  host: string;
  /** 0 picks a free port; the bound one is `Broker.port` after start(). */
  port: number;
  anonymous: AnonymousAccess;
  users: UserEntry[];
  limits?: {
    maxTopicLevels?: number; connectTimeoutMs?: number; drainTimeoutMs?: number; maxPacketBytes?: number;
    maxConnections?: number; maxInflight?: number; maxTopicLength?: number; maxSubscriptions?: number;
    maxQueuedMessages?: number; maxClientIdLength?: number;
  };
  /** Failed-login rate limit and lockout (login-limiter.ts); DEFAULT_LOGIN_LIMITS for what is absent. */
  login?: Partial<LoginLimiterOptions>;
  /** TLS and WebSocket listeners, and turning the TCP one (host, port) off; only TCP when absent. */
  listeners?: ListenerSettings;
}

export interface IncomingCommand {
  topic: string;
  kind: string;
  device: string;
  command: string;
  payload: Buffer;
  qos: 0 | 1 | 2;
  retain: boolean;
  dup: boolean;
  messageId?: number;
  clientId: string;
  username?: string;
  peer: string;
  authorized: boolean;
}

export type SecurityEvent = {
  type: 'auth_failed' | 'publish_denied' | 'subscribe_denied' | 'lockout';
  clientId: string;
  username?: string;
  peer: string;
  /** mqtt+tcp, mqtt+tls, mqtt+ws or mqtt+wss. */
  protocol?: string;
  topic?: string;
  reason: string;
};

export interface BrokerHooks {
  /** classifyTopic from src/topics.ts, bound to the site by the caller. */
  classify(topic: string): TopicClass;
  /** Called synchronously from the publish path; must not throw. */
  onCommand(cmd: IncomingCommand): void;
  onSecurityEvent(e: SecurityEvent): void;
  /** Optional: each client PUBLISH after aedes routed it (the cloud uplink's forward filters). Must not throw. */
  onPublished?(topic: string, payload: Buffer, retain: boolean, clientId: string): void;
}

export const DEFAULT_BROKER_LIMITS = {
  // The topic contract needs 5 levels; generous for other traffic, far below qlobber's 100.
  maxTopicLevels: 32,
  // A connection that has not sent CONNECT by then is dropped (MQTT 3.1.1 section 3.1 leaves the
  // time to the server).
  connectTimeoutMs: 10_000,
  // A subscriber whose socket does not drain by then is disconnected instead of stalling delivery.
  drainTimeoutMs: 30_000,
  // MQTT 3.1.1 allows 256 MiB packets and aedes buffers a packet whole before parsing it; commands
  // are a few hundred bytes. Larger packets close the connection.
  maxPacketBytes: 1024 * 1024,
  // maxConnections, maxInflight, maxTopicLength, maxSubscriptions (client-limits.ts)
  ...DEFAULT_CLIENT_LIMITS,
} as const;

interface ClientContext {
  peer: string;
  protocol: string;
  /** A client certificate verified by the TLS listener: it logs the client in (see Authenticator.authenticateCertificate). */
  certificate?: PeerCertificateInfo;
  acl: Acl | null;
  username?: string;
  willTopic?: string;
  /** QoS 2 command message ids seen in the current parse batch (see isQos2Retransmission). */
  recentQos2: Set<number>;
  /** Granted QoS per subscribed filter; aedes itself is given QoS 2 (see authorizeSubscribe). */
  granted: Map<string, GrantedQos>;
  /** Unacknowledged outbound QoS 1/2 packets (see withinInflight). */
  inflight: () => number;
  /** Set once a limit has closed this connection, so that it is logged once. */
  limitTripped?: boolean;
  /** True from login until the connection closes (counted in attachedClientIds), then false. */
  attached?: boolean;
  /** Subscribe denials journaled so far (see SUBSCRIBE_DENIALS_JOURNALED). */
  subscribeDenials: number;
}

// A SUBSCRIBE of up to maxPacketBytes can carry hundreds of thousands of filters: past this many
// denials per connection, further ones are counted and logged at debug, not journaled.
const SUBSCRIBE_DENIALS_JOURNALED = 100;

// Errors we hand to aedes on purpose; they come back through 'clientError' and were already logged.
const POLICY_ERROR = Symbol('gatehouse.policyError');

function policyError(message: string, extra: Record<string, unknown> = {}): Error {
  return Object.assign(new Error(message), extra, { [POLICY_ERROR]: true });
}

const ROUTINE_CODES = new Set(['ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ERR_STREAM_PREMATURE_CLOSE', 'ERR_STREAM_DESTROYED']);
const ROUTINE_MESSAGES = new Set(['keep alive timeout', 'connection closed', 'drain timeout']);

export class Broker {
  private aedes: Aedes | null = null;
  private starting = false;
  private limits: Required<NonNullable<BrokerOptions['limits']>> = { ...DEFAULT_BROKER_LIMITS };
  private readonly listeners: Listener[];
  private readonly listenersByKind: ReadonlyMap<ListenerKind, Listener>;
  /** Certificates of the TLS and WSS listeners; null when none serves TLS. */
  private readonly tlsSecurity: TlsSecurity | null;
  private readonly authenticator: Authenticator;
  private readonly contexts = new WeakMap<Client, ClientContext>();
  private sessions = new SessionRegistry();
  /** Counts updateAccess() calls; a login that spans one is checked again. */
  private accessGeneration = 0;
  private sequencer = new PublishSequencer();
  private readonly connections: ConnectionCounter;
  private readonly logins: LoginGuard;
  private readonly limitCounters = { limitDisconnects: 0, subscriptionsRefusedByLimit: 0, subscribeDenialsNotJournaled: 0, clientIdsRefused: 0 };
  /** broker.limits.max_queued_messages; null until started or when aedes' persistence is not the one it knows. */
  private offlineQueue: OfflineQueueLimiter | null = null;
  /** Logged-in connections per client id: a session with one is not offline (see sessionAttached). */
  private readonly attachedClientIds = new Map<string, number>();
  /** PUBLISH packets aedes routed: from clients, and from the gateway itself ($SYS not counted); for metrics. */
  private readonly routed = { received: 0, published: 0 };
  /** Warnings any peer can cause once per connection (see log-bounds.ts). */
  private readonly violationWarnings: WarnThrottle;
  private readonly clientErrorWarnings: WarnThrottle;

  constructor(
    private readonly opts: BrokerOptions,
    private readonly hooks: BrokerHooks,
    private readonly log: Logger,
  ) {
    const built = buildListeners({ host: opts.host, port: opts.port }, opts.listeners ?? {}, {
      log,
      maxPacketBytes: () => this.limits.maxPacketBytes,
      handshakeTimeoutMs: opts.limits?.connectTimeoutMs ?? DEFAULT_BROKER_LIMITS.connectTimeoutMs,
      onHandshakeFailure: (f) =>
        this.security({ type: 'auth_failed', clientId: '', peer: f.peer, protocol: f.protocol, reason: `tls_handshake: ${f.reason}` }, 'tls handshake failed'),
    });
    this.listenersByKind = built.listeners;
    this.listeners = [...built.listeners.values()];
    this.tlsSecurity = built.tls;
    this.authenticator = new Authenticator(opts.users, opts.anonymous);
    this.connections = new ConnectionCounter(opts.limits?.maxConnections ?? DEFAULT_CLIENT_LIMITS.maxConnections, log);
    this.logins = new LoginGuard({ ...DEFAULT_LOGIN_LIMITS, ...opts.login }, log, (event, message) => this.security(event, message));
    this.violationWarnings = new WarnThrottle(log);
    this.clientErrorWarnings = new WarnThrottle(log);
  }

  /** Port of the TCP listener, or of the first enabled listener (tls, then ws) when TCP is off. */
  get port(): number {
    return this.listeners[0]?.port ?? 0;
  }

  get address(): string {
    return this.listeners[0]?.address ?? this.opts.host;
  }

  /** Bound port of each enabled listener (after start()). */
  ports(): Record<ListenerKind, number | undefined> {
    return { tcp: this.listenersByKind.get('tcp')?.port, tls: this.listenersByKind.get('tls')?.port, ws: this.listenersByKind.get('ws')?.port };
  }

  /**
   * Reads the TLS certificate, key and CA files again and applies them to the TLS and WSS
   * listeners: new connections get them, open ones keep what they negotiated. A file that cannot
   * be read or used throws a BrokerError naming it, and the old certificates stay in use.
   * Does nothing when no listener serves TLS.
   */
  async reloadCertificates(): Promise<void> {
    if (!this.tlsSecurity) return;
    const material = this.tlsSecurity.reload();
    this.log.info({ certificate: material.fingerprint, subject: material.subject, not_after: material.validTo.toISOString() }, 'tls certificates reloaded');
  }

  connectedClients(): number {
    return this.aedes?.connectedClients ?? 0;
  }

  messageCounts(): { received: number; published: number } {
    return { ...this.routed };
  }

  /** Login failures and lockouts, and connections or clients stopped by a limit; for metrics. */
  securityCounters(): Record<string, number> {
    const queues = this.offlineQueue?.counters() ?? { queuedMessagesDropped: 0, currentQueuedMessages: 0 };
    return { ...this.logins.counters(), ...this.limitCounters, ...queues, connectionsRefused: this.connections.refused, openConnections: this.connections.open };
  }

  async start(): Promise<void> {
    if (this.aedes || this.starting) throw new BrokerError('BROKER_ALREADY_STARTED', 'broker already started');
    if (this.listeners.length === 0) throw new BrokerError('BROKER_NO_LISTENER', 'every listener is disabled (tcp, tls, ws)');
    this.starting = true;
    try {
      await this.startAedes();
    } finally {
      this.starting = false;
    }
    try {
      // Over broker.limits.max_connections, a listener closes a TCP socket as it accepts it, before
      // a TLS handshake or WebSocket upgrade (the counter logs it); accept() sees admitted ones only.
      const admit = (socket: Socket, peer: string) => this.connections.admit(socket, peer);
      for (const listener of this.listeners) await listener.start((stream, info) => this.accept(stream, info), admit);
    } catch (err) {
      await this.stop();
      throw err;
    }
  }

  private async startAedes(): Promise<void> {
    await this.authenticator.start();
    const given = Object.entries(this.opts.limits ?? {}).filter(([, value]) => value !== undefined);
    const limits = { ...DEFAULT_BROKER_LIMITS, ...Object.fromEntries(given) };
    this.limits = limits;
    const aedes = new Aedes({
      maxTopicLevels: limits.maxTopicLevels,
      connectTimeout: limits.connectTimeoutMs,
      drainTimeout: limits.drainTimeoutMs,
      preConnect: (client, packet, done) => this.preConnect(client, packet, done),
      authenticate: (client, username, password, done) => this.authenticate(client, username, password, done),
      authorizePublish: (client, packet, done) => this.authorizePublish(client, packet, done),
      authorizeSubscribe: (client, sub, done) => this.authorizeSubscribe(client, sub, done),
      authorizeForward: (client, packet) => this.authorizeForward(client, packet),
    });
    const mq = (aedes as unknown as { mq: unknown }).mq;
    if (!guardMqEmitterDepth(mq)) this.log.warn('mqemitter internals changed: recursion-depth guard not installed');
    this.sequencer = new PublishSequencer();
    if (!this.sequencer.install(mq)) this.log.warn('mqemitter internals changed: publish-order guard not installed');
    aedes.on('clientError', (client, err) => this.onClientError(client, err));
    aedes.on('connectionError', (client, err) => this.onClientError(client, err));
    aedes.on('unsubscribe', (filters, client) => {
      const ctx = this.contexts.get(client);
      for (const filter of filters) ctx?.granted.delete(filter);
    });
    aedes.on('keepaliveTimeout', (client) => this.log.debug({ clientId: client.id, peer: this.peerOf(client) }, 'mqtt keepalive timeout'));
    aedes.on('publish', (packet, client) => {
      if (client) this.routed.received++;
      else if (!packet.topic.startsWith('$SYS/')) this.routed.published++;
    });
    const onPublished = this.hooks.onPublished?.bind(this.hooks);
    if (onPublished) {
      aedes.on('publish', (packet, client) => {
        if (!client) return;
        try {
          onPublished(packet.topic, typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload, packet.retain, client.id);
        } catch (err) {
          this.log.error({ err }, 'onPublished hook threw');
        }
      });
    }
    // aedes emits 'error' for persistence failures; unhandled it would throw.
    (aedes as unknown as NodeJS.EventEmitter).on('error', (err: Error) => this.log.error({ err }, 'broker internal error'));
    await aedes.listen();
    if (!markResentDup((aedes as unknown as { persistence: unknown }).persistence)) {
      this.log.warn('aedes persistence internals changed: DUP-on-resend guard not installed');
    }
    const offlineQueue = new OfflineQueueLimiter({ maxQueued: limits.maxQueuedMessages, isAttached: (id) => this.sessionAttached(aedes, id), log: this.log });
    this.offlineQueue = offlineQueue.install((aedes as unknown as { persistence: unknown }).persistence) ? offlineQueue : null;
    if (!this.offlineQueue) this.log.warn('aedes persistence internals changed: broker.limits.max_queued_messages not enforced');
    this.sessions = new SessionRegistry();
    this.aedes = aedes;
  }

  /** Publish as the gateway itself (no ACL, no topic policy). Resolves once aedes has routed it. */
  async publish(topic: string, payload: string | Buffer, opts: { qos: 0 | 1; retain: boolean }): Promise<void> {
    const aedes = this.aedes;
    if (!aedes) throw new BrokerError('BROKER_NOT_STARTED', 'broker is not started');
    const invalid = validateTopicName(topic);
    if (invalid) throw new BrokerError('BROKER_INVALID_TOPIC', `cannot publish to "${topic}": ${invalid}`);
    const packet: PublishPacket = {
      cmd: 'publish',
      topic,
      // A Buffer object of its own (no copy): it identifies this packet to the sequencer.
      payload: typeof payload === 'string' ? Buffer.from(payload, 'utf8') : payload.subarray(0),
      qos: opts.qos,
      retain: opts.retain,
      dup: false,
    };
    try {
      await this.sequencer.run(packet.payload as Buffer, (done) => aedes.publish(packet, done));
    } catch (err) {
      throw new BrokerError('BROKER_PUBLISH_FAILED', `publish to "${topic}" failed: ${(err as Error).message}`, { cause: err });
    }
  }

  /** Disconnects every client (their wills are published as for any server-side close), then closes the listeners. */
  async stop(): Promise<void> {
    const aedes = this.aedes;
    this.aedes = null;
    this.logins.close();
    if (aedes) await new Promise<void>((resolve) => aedes.close(() => resolve()));
    for (const listener of this.listeners) await listener.close();
  }

  private accept(stream: Duplex, info: ConnectionInfo): void {
    const { peer, protocol, certificate } = info;
    const aedes = this.aedes;
    if (!aedes) {
      stream.destroy();
      return;
    }
    // Packets that break MQTT 3.1.1 rules aedes does not check are stopped before aedes parses them.
    const guarded = new GuardedConnection(stream, {
      maxPacketBytes: this.limits.maxPacketBytes,
      maxClientIdBytes: this.limits.maxClientIdLength,
      sessions: this.sessions,
      // Reported on a later 'data' event, once `client` below exists; the limits (packet size) have clause "limit".
      onViolation: (v) => {
        if (v.limit === 'max_client_id_length') this.limitCounters.clientIdsRefused++;
        const limit = v.limit ? { limit: v.limit } : {};
        this.violationWarnings.warn(
          { clientId: boundedText(v.clientId ?? client.id ?? undefined, MAX_LOGGED_NAME_CHARS), username: this.contexts.get(client)?.username, peer, clause: v.clause, ...limit, reason: v.reason },
          'mqtt protocol violation; closing connection',
        );
      },
    });
    const client = aedes.handle(guarded);
    if (!installPacketIdAllocator(client, (id) => guarded.outboundInUse(id))) {
      this.log.warn('aedes client internals changed: packet identifier guard not installed');
    }
    const inflight = () => guarded.outboundInflight;
    guarded.once('close', () => this.detach(client));
    this.contexts.set(client, { peer, protocol, certificate, acl: null, recentQos2: new Set(), granted: new Map(), inflight, subscribeDenials: 0 });
  }

  /**
   * Whether a client with this id is connected or connecting, for broker.limits.max_queued_messages:
   * from its login (aedes subscribes a persistent session again right after it) until its
   * connection closes, and then while aedes still lists it (until its subscriptions are gone).
   */
  private sessionAttached(aedes: Aedes, clientId: string): boolean {
    return this.attachedClientIds.has(clientId) || (aedes as unknown as { clients: Record<string, unknown> }).clients[clientId] !== undefined;
  }

  private attach(client: Client, ctx: ClientContext): void {
    // false: the connection closed while the password was checked.
    if (ctx.attached !== undefined) return;
    ctx.attached = true;
    this.attachedClientIds.set(client.id, (this.attachedClientIds.get(client.id) ?? 0) + 1);
  }

  private detach(client: Client): void {
    const ctx = this.contexts.get(client);
    if (!ctx) return;
    const wasAttached = ctx.attached;
    ctx.attached = false;
    if (!wasAttached) return;
    const left = (this.attachedClientIds.get(client.id) ?? 1) - 1;
    if (left > 0) this.attachedClientIds.set(client.id, left);
    else this.attachedClientIds.delete(client.id);
  }

  private peerOf(client: Client | null): string {
    return (client && this.contexts.get(client)?.peer) ?? 'unknown';
  }

  private security(full: SecurityEvent, message: string): void {
    // The peer chose these: whole, each could be 64 KiB in every log line and journal entry.
    const event: SecurityEvent = { ...full, clientId: boundedText(full.clientId, MAX_LOGGED_NAME_CHARS) };
    if (full.username !== undefined) event.username = boundedText(full.username, MAX_LOGGED_NAME_CHARS);
    if (full.topic !== undefined) event.topic = boundedText(full.topic, MAX_LOGGED_TOPIC_CHARS);
    this.log.warn(event, message);
    try {
      this.hooks.onSecurityEvent(event);
    } catch (err) {
      this.log.error({ err }, 'onSecurityEvent hook threw');
    }
  }

  private preConnect(client: Client, packet: ConnectPacket, done: (err: Error | null, ok: boolean) => void): void {
    const ctx = this.contexts.get(client);
    if (!ctx) return done(policyError('connection not accepted by a gatehouse listener'), false);
    ctx.willTopic = packet.will?.topic;
    done(null, true);
  }

  private authenticate(
    client: Client,
    username: string | undefined,
    password: Buffer | undefined,
    done: (err: (Error & { returnCode: number }) | null, ok: boolean | null) => void,
  ): void {
    const ctx = this.contexts.get(client);
    const refuse = (returnCode: number, reason: string) => {
      this.security(
        // A certificate login names its user by the certificate when the client sent no username.
        { type: 'auth_failed', clientId: client.id, username: username ?? ctx?.certificate?.identity ?? undefined, peer: ctx?.peer ?? 'unknown', protocol: ctx?.protocol, reason },
        'mqtt login refused',
      );
      done(policyError(`login refused: ${reason}`, { returnCode }) as Error & { returnCode: number }, null);
    };
    if (!ctx) return refuse(CONNACK_NOT_AUTHORIZED, 'unknown_connection');
    // Failed-login lockout (login-limiter.ts): refused before any password check, which also spares
    // the scrypt work. Code 5, not authorized (MQTT 3.1.1 table 3.1): the credentials were not
    // looked at, so 4 would be a lie, and 3 (server unavailable) invites clients to retry at once.
    // A verified client certificate cannot be guessed: such logins are neither limited nor counted.
    const attempt = { clientId: client.id, username, peer: ctx.peer };
    const refusedLockedOut = (): boolean => {
      const lockedOut = ctx.certificate ? null : this.logins.refusal(attempt);
      if (lockedOut?.report) refuse(CONNACK_NOT_AUTHORIZED, 'locked_out');
      else if (lockedOut) done(policyError('login refused: locked_out', { returnCode: CONNACK_NOT_AUTHORIZED }) as Error & { returnCode: number }, null);
      return lockedOut !== null;
    };
    if (refusedLockedOut()) return;
    // A verified client certificate is the credential: no password is checked (auth.ts).
    const login = ctx.certificate
      ? Promise.resolve(this.authenticator.authenticateCertificate(ctx.certificate.identity, username))
      : this.authenticator.authenticate(username, password);
    const generation = this.accessGeneration;
    login.then(
      (result) => {
        // The users were replaced (updateAccess) while the password was checked: check again
        // against the new list, so that a removed user or an old ACL cannot slip in.
        if (generation !== this.accessGeneration) return this.authenticate(client, username, password, done);
        // Parallel attempts all passed the check above before any of them had failed: a lockout
        // that started while this password was checked refuses it too, right or wrong, so that a
        // burst of guesses learns no more answers than sequential ones would.
        if (refusedLockedOut()) return;
        if (!result.ok) {
          refuse(result.returnCode, result.reason);
          return ctx.certificate ? undefined : this.logins.failed(attempt);
        }
        if (!ctx.certificate) this.logins.succeeded(attempt);
        const acl = new Acl(result.rules, { username: result.username, clientId: client.id });
        // A will is a PUBLISH made later on the client's behalf: refuse at CONNECT a will that the
        // client could not publish itself (MQTT 3.1.1 table 3.1, code 5).
        if (ctx.willTopic !== undefined && decidePublish(ctx.willTopic, this.hooks.classify, acl, this.limits.maxTopicLength).action === 'deny') {
          return refuse(CONNACK_NOT_AUTHORIZED, 'will_denied');
        }
        // A will fires at some unknown later moment, with nobody there to read the result: a
        // command that acts at a time nobody chose is exactly what the expiry rules forbid.
        if (ctx.willTopic !== undefined && this.hooks.classify(ctx.willTopic).type === 'command') {
          return refuse(CONNACK_NOT_AUTHORIZED, 'will_on_command_topic');
        }
        ctx.acl = acl;
        ctx.username = result.username;
        const certificate = ctx.certificate ? { certificate: ctx.certificate.fingerprint } : {};
        this.log.info({ clientId: client.id, username: result.username, peer: ctx.peer, protocol: ctx.protocol, ...certificate }, 'mqtt login');
        this.attach(client, ctx);
        done(null, true);
      },
      (err: unknown) => {
        this.log.error({ err, peer: ctx.peer }, 'authentication failed unexpectedly');
        refuse(3, 'server_error'); // 3: server unavailable
      },
    );
  }

  private authorizePublish(client: Client | null, packet: PublishPacket, done: (err?: Error | null) => void): void {
    // client is null only for a will left by another broker instance: nothing to authorize it against.
    const ctx = client ? this.contexts.get(client) : undefined;
    if (!client || !ctx?.acl) return done(policyError('publish without an authenticated client'));
    const decision = decidePublish(packet.topic, this.hooks.classify, ctx.acl, this.limits.maxTopicLength);
    if (decision.action === 'allow') return done(null);
    if (decision.action === 'deny') {
      this.security(
        { type: 'publish_denied', clientId: client.id, username: ctx.username, peer: ctx.peer, protocol: ctx.protocol, topic: packet.topic, reason: decision.reason },
        client.closed ? 'mqtt will refused' : 'mqtt publish refused; closing connection',
      );
      // MQTT-3.3.5-2: the server may close the connection instead of acknowledging.
      return done(policyError(`publish to "${packet.topic}" refused: ${decision.reason}`));
    }
    // A command is consumed by the gateway: never retained (a retained command would replay on
    // every subscribe), never routed (authorizeForward drops it); aedes still acknowledges it.
    const retain = packet.retain;
    packet.retain = false;
    if (this.isQos2Retransmission(client, ctx, packet)) return done(null);
    const cmd: IncomingCommand = {
      topic: packet.topic,
      kind: decision.kind,
      device: decision.device,
      command: decision.command,
      payload: packet.payload === undefined ? Buffer.alloc(0) : Buffer.from(packet.payload),
      qos: packet.qos,
      retain,
      dup: packet.dup,
      messageId: packet.qos > 0 ? packet.messageId : undefined,
      clientId: client.id,
      username: ctx.username,
      peer: ctx.peer,
      authorized: decision.authorized,
    };
    try {
      this.hooks.onCommand(cmd);
    } catch (err) {
      this.log.error({ err, topic: packet.topic, clientId: client.id }, 'onCommand hook threw');
    }
    done(null);
  }

  /**
   * MQTT-4.3.3-2: a QoS 2 PUBLISH retransmitted before its PUBREL must not be delivered onward
   * twice. aedes answers such a retransmission with another PUBREC but runs authorizePublish
   * first, so the pipeline would see the command again. aedes tracks the ids awaiting PUBREL in
   * client._inboundInflight once the packet is stored; copies within one parse batch arrive
   * before that, so ids are also remembered until the next turn of the event loop.
   */
  private isQos2Retransmission(client: Client, ctx: ClientContext, packet: PublishPacket): boolean {
    if (packet.qos !== 2 || packet.messageId === undefined) return false;
    const inflight = (client as unknown as { _inboundInflight?: Set<number> })._inboundInflight;
    if (inflight?.has(packet.messageId) || ctx.recentQos2.has(packet.messageId)) return true;
    if (ctx.recentQos2.size === 0) setImmediate(() => ctx.recentQos2.clear());
    ctx.recentQos2.add(packet.messageId);
    return false;
  }

  private authorizeSubscribe(client: Client, sub: Subscription, done: (err: Error | null, sub?: Subscription | null) => void): void {
    const ctx = this.contexts.get(client);
    const invalid = validateTopicFilter(sub.topic);
    const allowed = Boolean(ctx?.acl && !invalid && ctx.acl.canSubscribe(sub.topic));
    // MQTT 3.1.1 section 3.9.3 lets the server fail single filters of a SUBSCRIBE: a filter over
    // a limit gets 0x80 like any refusal, and the client keeps its connection and other filters.
    const overLimit = ctx && allowed ? subscribeLimitExceeded(sub.topic, ctx.granted, this.limits) : null;
    if (ctx && allowed && !overLimit) {
      // aedes 1.2.0 caps the delivered QoS only for a subscription whose filter equals the topic,
      // and with overlapping subscriptions the first listener wins, possibly at QoS 0. So aedes
      // subscribes every filter at QoS 2 and authorizeForward applies the granted QoS
      // (MQTT-3.8.4-6, MQTT-3.3.5-1). SUBACK still reports the requested QoS: aedes takes it from
      // the SUBSCRIBE packet, and every QoS is granted as requested.
      ctx.granted.set(sub.topic, sub.qos);
      return done(null, { ...sub, qos: 2 });
    }
    const event: SecurityEvent = {
      type: 'subscribe_denied',
      clientId: client.id,
      username: ctx?.username,
      peer: ctx?.peer ?? 'unknown',
      protocol: ctx?.protocol,
      topic: sub.topic,
      reason: invalid ? 'invalid_filter' : (overLimit ?? 'acl'),
    };
    if (overLimit) this.limitCounters.subscriptionsRefusedByLimit++;
    const denials = ctx ? ++ctx.subscribeDenials : 1;
    if (denials <= SUBSCRIBE_DENIALS_JOURNALED) {
      const limitKey = overLimit === 'topic_too_long' ? 'max_topic_length' : overLimit;
      this.security(event, overLimit ? `mqtt subscribe refused: broker.limits.${limitKey} reached` : 'mqtt subscribe refused');
    } else {
      this.limitCounters.subscribeDenialsNotJournaled++;
      if (denials === SUBSCRIBE_DENIALS_JOURNALED + 1) this.log.warn(event, 'mqtt subscribe refused; further refusals on this connection are counted, not journaled');
      else this.log.debug(event, 'mqtt subscribe refused');
    }
    // MQTT-3.9.3: a null subscription makes aedes answer 0x80 (failure) for this filter.
    done(null, null);
  }

  /**
   * Last check before a PUBLISH goes to `client`: live deliveries, retained messages on SUBSCRIBE
   * and the offline queue on reconnect all pass here, each with its own packet copy, which is
   * changed in place because the offline-queue path ignores the return value.
   */
  private authorizeForward(client: Client, packet: AedesPublishPacket): AedesPublishPacket | null {
    // Commands published by clients (aedes stamps their clientId) are the gateway's alone.
    const fromClient = (packet as { clientId?: string }).clientId !== undefined;
    if (fromClient && this.hooks.classify(packet.topic).type === 'command') return null;
    const ctx = this.contexts.get(client);
    if (!ctx || !applyForwardPolicy(packet, ctx.granted)) return null;
    if (packet.qos === 0 || this.withinInflight(client, ctx)) return packet;
    // The connection is closed already; a persistent session keeps its stored copy for the next
    // connection when aedes' write fails, while null would make aedes discard it.
    return client.clean ? null : packet;
  }

  /**
   * broker.limits.max_inflight. aedes 1.2.0 has no outbound window: it writes every QoS 1/2
   * message as soon as it is routed and counts nothing, so a client that stops acknowledging
   * collects packet identifiers (and, for a persistent session, stored copies) without end. Once
   * maxInflight packets await their PUBACK/PUBCOMP, the next one closes the connection.
   */
  private withinInflight(client: Client, ctx: ClientContext): boolean {
    if (ctx.limitTripped) return false;
    const inflight = ctx.inflight();
    if (inflight < this.limits.maxInflight) return true;
    ctx.limitTripped = true;
    this.limitCounters.limitDisconnects++;
    this.log.warn(
      { clientId: client.id, username: ctx.username, peer: ctx.peer, limit: 'max_inflight', max: this.limits.maxInflight, inflight },
      'mqtt client closed: broker.limits.max_inflight reached',
    );
    // destroy() reports to aedes on the next tick, outside this delivery.
    client.conn.destroy(policyError(`broker.limits.max_inflight (${this.limits.maxInflight}) reached`));
    return false;
  }

  private onClientError(client: Client, err: Error & { code?: string }): void {
    const details = { clientId: boundedText(client.id ?? undefined, MAX_LOGGED_NAME_CHARS), peer: this.peerOf(client), err: { message: err.message, code: err.code } };
    if ((err as unknown as Record<symbol, unknown>)[POLICY_ERROR]) {
      this.log.debug(details, 'mqtt client closed by policy');
    } else if ((err.code && ROUTINE_CODES.has(err.code)) || ROUTINE_MESSAGES.has(err.message)) {
      this.log.debug(details, 'mqtt client connection ended');
    } else {
      this.clientErrorWarnings.warn(details, 'mqtt client error; connection closed');
    }
  }

  /**
   * New users and anonymous access while running (a configuration reload). A connected client whose
   * user was removed or got a new password hash, or an anonymous one once anonymous access is off,
   * is disconnected (its will is published as for any server-side close). Any other client keeps
   * its connection and gets its new access list at once: later PUBLISH and SUBSCRIBE packets are
   * checked against it, and deliveries through subscriptions it no longer covers stop.
   */
  updateAccess(users: readonly UserEntry[], anonymous: AnonymousAccess): { disconnected: number; updated: number } {
    this.accessGeneration++;
    const connected = Object.values((this.aedes as unknown as { clients?: Record<string, Client> } | null)?.clients ?? {});
    const before = new Map(connected.map((client) => [client, this.authenticator.accessOf(this.contexts.get(client)?.username)]));
    this.authenticator.replace(users, anonymous);
    let disconnected = 0;
    let updated = 0;
    for (const client of connected) {
      const ctx = this.contexts.get(client);
      // Not logged in yet: its CONNECT is checked against the new users.
      if (!ctx?.acl) continue;
      const was = before.get(client);
      const now = this.authenticator.accessOf(ctx.username);
      // A client logged in by its certificate never used the password.
      if (!now || (!ctx.certificate && now.passwordHash !== was?.passwordHash)) {
        this.log.info({ clientId: client.id, username: ctx.username, peer: ctx.peer, reason: now ? 'password_changed' : 'access_removed' }, 'mqtt client disconnected by a configuration reload');
        client.close();
        disconnected++;
        continue;
      }
      if (isDeepStrictEqual(now.rules, was?.rules)) continue;
      const acl = new Acl(now.rules, { username: ctx.username, clientId: client.id });
      ctx.acl = acl;
      for (const filter of [...ctx.granted.keys()]) if (!acl.canSubscribe(filter)) ctx.granted.delete(filter);
      updated++;
    }
    return { disconnected, updated };
  }
}
