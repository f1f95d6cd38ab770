// The embedded MQTT 3.1.1 broker: aedes behind gatehouse's authentication, ACL and topic contract.
// This class wires the parts together and starts and stops them: the listeners (listeners.ts),
// one aedes hook per file (hooks/) deciding over per-client sessions (client-session.ts), the
// guards on aedes internals behind one version check (aedes-compat.ts), counters and access reloads.
import type { Aedes, Client, PublishPacket } from 'aedes';
import type { AclRules } from './acl.js';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { reloadAccess } from './access-reload.js';
import { validateTopicName } from './acl.js';
import { aedesCompat, type AedesCompat } from './aedes-compat.js';
import { startAedesInstance } from './aedes-instance.js';
import { Authenticator, type AnonymousAccess, type UserEntry } from './auth.js';
import { ConnectionCounter } from './client-limits.js';
import { ClientSessions, newClientSession } from './client-session.js';
import { BrokerCounters } from './counters.js';
import { BrokerError } from './errors.js';
import type { OfflineQueueLimiter } from './guards/offline-queue.js';
import type { GatehousePersistence } from './persistence/gatehouse-persistence.js';
import type { SessionExpiry } from './persistence/session-expiry.js';
import { GuardedConnection, type ProtocolViolation, type SessionLookup } from './guards/protocol-guard.js';
import { PublishSequencer } from './guards/publish-order.js';
import { buildListeners, type ConnectionInfo, type Listener, type ListenerKind, type TlsSecurity } from './listeners.js';
import { LoginGuard } from './login-guard.js';
import { boundedText, MAX_LOGGED_NAME_CHARS, WarnThrottle } from './log-bounds.js';
import { DEFAULT_LOGIN_LIMITS } from './login-limiter.js';
import { DEFAULT_BROKER_LIMITS, effectiveLimits, type BrokerHooks, type BrokerLimits, type BrokerOptions } from './options.js';
import { securityReporter, type SecurityReporter } from './security-event.js';

export type { UserEntry } from './auth.js';
export type { SecurityEvent } from './security-event.js';
export { DEFAULT_BROKER_LIMITS, type BrokerHooks, type BrokerOptions, type IncomingCommand } from './options.js';

/** A logged-in MQTT client as the console's broker view lists it. */
export interface ConnectedClient {
  client_id: string;
  user?: string;
  protocol: string;
  /** address:port of the peer. */
  address: string;
  /** Epoch ms the connection was accepted. */
  since: number;
}

export type OutsideLogin = { ok: true; rules: AclRules } | { ok: false; reason: string };

export class Broker {
  private aedes: Aedes | null = null;
  /** Access to aedes internals; set once the version check passed (start()). */
  private compat: AedesCompat | null = null;
  private starting = false;
  private limits: BrokerLimits = { ...DEFAULT_BROKER_LIMITS };
  private readonly listeners: Listener[];
  private readonly listenersByKind: ReadonlyMap<ListenerKind, Listener>;
  /** Certificates of the TLS and WSS listeners; null when none serves TLS. */
  private readonly tlsSecurity: TlsSecurity | null;
  private readonly authenticator: Authenticator;
  private readonly sessions = new ClientSessions<Client>();
  /** Whether a CleanSession=0 client resumes a session (guards/protocol-guard.ts); from the persistence once started. */
  private sessionLookup: SessionLookup = { accepted: () => false };
  /** Counts updateAccess() calls; a login that spans one is checked again. */
  private accessGeneration = 0;
  private sequencer = new PublishSequencer();
  private readonly connections: ConnectionCounter;
  private readonly logins: LoginGuard;
  private readonly counters = new BrokerCounters();
  /** broker.limits.max_queued_messages; null until started. */
  private offlineQueue: OfflineQueueLimiter | null = null;
  /** Sessions, queues, retained messages and wills (persistence/); null until started. */
  private persistence: GatehousePersistence | null = null;
  private expiry: SessionExpiry | null = null;
  private readonly security: SecurityReporter;
  /** Warnings any peer can cause once per connection (see log-bounds.ts). */
  private readonly violationWarnings: WarnThrottle;
  private readonly clientErrorWarnings: WarnThrottle;

  constructor(
    private readonly opts: BrokerOptions,
    private readonly hooks: BrokerHooks,
    private readonly log: Logger,
  ) {
    this.security = securityReporter(log, (event) => hooks.onSecurityEvent(event));
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
    this.connections = new ConnectionCounter(opts.limits?.maxConnections ?? DEFAULT_BROKER_LIMITS.maxConnections, log);
    this.logins = new LoginGuard({ ...DEFAULT_LOGIN_LIMITS, ...opts.login }, log, this.security);
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

  /** PUBLISH packets aedes routed: from clients, and from the gateway itself ($SYS not counted); for metrics. */
  messageCounts(): { received: number; published: number } {
    return this.counters.messageCounts();
  }

  /** Login failures and lockouts, and connections or clients stopped by a limit; for metrics. */
  securityCounters(): Record<string, number> {
    const queues = { queuedMessagesDropped: this.offlineQueue?.dropped ?? 0, currentQueuedMessages: this.persistence?.queuedMessages ?? 0 };
    return this.counters.securityCounters(this.logins.counters(), queues, this.connections);
  }

  /** Persistent sessions removed by broker.limits.session_expiry_s since start; for metrics. */
  sessionsExpired(): number {
    return this.expiry?.expired ?? 0;
  }

  /** The logged-in MQTT clients now, for the console's broker view (read-only). */
  clientList(): ConnectedClient[] {
    const connected = this.aedes && this.compat ? this.compat.clients(this.aedes) : [];
    const list: ConnectedClient[] = [];
    for (const client of connected) {
      const session = this.sessions.get(client);
      if (!session?.attached) continue;
      list.push({ client_id: client.id, ...(session.username !== undefined ? { user: session.username } : {}), protocol: session.protocol, address: session.peer, since: session.since });
    }
    return list;
  }

  /** The publish and subscribe rules of a configured user now (after reloads); undefined for an unknown one. */
  userRules(username: string): AclRules | undefined {
    return this.authenticator.accessOf(username)?.rules;
  }

  /**
   * A login from outside MQTT (the technician console, `protocol` console+http or console+https):
   * the same users, scrypt hashes and failed-login lockout as an MQTT CONNECT, refusals and
   * lockouts reported (logged, journalled) as the broker's own.
   */
  async checkLogin(username: string, password: string, peer: string, protocol: string): Promise<OutsideLogin> {
    const attempt = { clientId: '', username, peer };
    const lockedOut = (): boolean => {
      const refusal = this.logins.refusal(attempt);
      if (refusal?.report) this.security({ type: 'auth_failed', clientId: '', username, peer, protocol, reason: 'locked_out' }, 'console login refused');
      return refusal !== null;
    };
    if (lockedOut()) return { ok: false, reason: 'locked_out' };
    const result = await this.authenticator.authenticate(username, Buffer.from(password, 'utf8'));
    // A lockout that started while this password was checked refuses it too (as in hooks/authenticate.ts).
    if (lockedOut()) return { ok: false, reason: 'locked_out' };
    if (!result.ok) {
      this.security({ type: 'auth_failed', clientId: '', username, peer, protocol, reason: result.reason }, 'console login refused');
      this.logins.failed(attempt);
      return { ok: false, reason: result.reason };
    }
    this.logins.succeeded(attempt);
    return { ok: true, rules: result.rules };
  }

  /** Refuses to start (BROKER_AEDES_INCOMPATIBLE) when aedes, mqemitter or aedes-persistence is not the version aedes-compat.ts expects. */
  async start(): Promise<void> {
    if (this.aedes || this.starting) throw new BrokerError('BROKER_ALREADY_STARTED', 'broker already started');
    if (this.listeners.length === 0) throw new BrokerError('BROKER_NO_LISTENER', 'every listener is disabled (tcp, tls, ws)');
    this.starting = true;
    try {
      await this.startAedes(aedesCompat());
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

  private async startAedes(compat: AedesCompat): Promise<void> {
    await this.authenticator.start();
    const limits = (this.limits = effectiveLimits(this.opts.limits));
    const { hooks, log, counters, security, sessions, authenticator, logins } = this;
    const classify = (topic: string) => hooks.classify(topic);
    const ctx = { sessions, hooks, classify, limits, compat, counters, security, log, authenticator, logins, accessGeneration: () => this.accessGeneration };
    const started = await startAedesInstance(ctx, this.opts.state, (fields, message) => this.clientErrorWarnings.warn(fields, message));
    this.sequencer = started.sequencer;
    this.offlineQueue = started.offlineQueue;
    this.persistence = started.persistence;
    this.expiry = started.expiry;
    const persistence = started.persistence;
    this.sessionLookup = { accepted: (connect) => !connect.cleanSession && persistence.hasSession(connect.clientId) };
    this.compat = compat;
    this.aedes = started.aedes;
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

  /**
   * Disconnects every client (their wills are published as for any server-side close), waits until
   * everything the persistence was given is stored, then closes the listeners.
   */
  async stop(): Promise<void> {
    const aedes = this.aedes;
    this.aedes = null;
    this.logins.close();
    await this.expiry?.stop();
    if (aedes) await new Promise<void>((resolve) => aedes.close(() => resolve()));
    await this.persistence?.drain().catch((err: unknown) => this.log.error({ err }, 'broker state not fully stored at stop'));
    for (const listener of this.listeners) await listener.close();
  }

  private accept(stream: Duplex, info: ConnectionInfo): void {
    const { aedes, compat } = this;
    if (!aedes || !compat) {
      stream.destroy();
      return;
    }
    // Packets that break MQTT 3.1.1 rules aedes does not check are stopped before aedes parses them.
    const guarded = new GuardedConnection(stream, {
      maxPacketBytes: this.limits.maxPacketBytes,
      maxClientIdBytes: this.limits.maxClientIdLength,
      sessions: this.sessionLookup,
      // Reported on a later 'data' event, once `client` below exists.
      onViolation: (violation) => this.onViolation(violation, client, info.peer),
    });
    const client = aedes.handle(guarded);
    compat.guardClient(client, (id) => guarded.outboundInUse(id));
    guarded.once('close', () => this.sessions.detach(client));
    this.sessions.set(client, newClientSession(info, () => guarded.outboundInflight));
  }

  private onViolation(v: ProtocolViolation, client: Client, peer: string): void {
    // The limits (packet size, client id length) have clause "limit".
    if (v.limit === 'max_client_id_length') this.counters.clientIdsRefused++;
    const limit = v.limit ? { limit: v.limit } : {};
    this.violationWarnings.warn(
      { clientId: boundedText(v.clientId ?? client.id ?? undefined, MAX_LOGGED_NAME_CHARS), username: this.sessions.get(client)?.username, peer, clause: v.clause, ...limit, reason: v.reason },
      'mqtt protocol violation; closing connection',
    );
  }

  /** New users and anonymous access while running (a configuration reload); see access-reload.ts. */
  updateAccess(users: readonly UserEntry[], anonymous: AnonymousAccess): { disconnected: number; updated: number } {
    this.accessGeneration++;
    const connected = this.aedes && this.compat ? this.compat.clients(this.aedes) : [];
    return reloadAccess(connected, this.sessions, this.authenticator, { users, anonymous }, this.log);
  }
}
