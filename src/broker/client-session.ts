// What the broker knows about one client connection, from the listener's accept to the close:
// one typed object per connection, kept in a WeakMap keyed by aedes' client. The hooks
// (hooks/*.ts) decide over it; only the Broker and the hook adapters change it.
import type { Acl } from './acl.js';
import type { GrantedQos } from './forward-policy.js';
import type { ConnectionInfo, PeerCertificateInfo } from './listeners.js';

export interface ClientSession {
  /** "address:port" as the listener reported it. */
  readonly peer: string;
  /** mqtt+tcp, mqtt+tls, mqtt+ws or mqtt+wss. */
  readonly protocol: string;
  /** Epoch ms the connection was accepted. */
  readonly since: number;
  /** A client certificate verified by the TLS listener: it logs the client in (see Authenticator.authenticateCertificate). */
  readonly certificate?: PeerCertificateInfo;
  /** Set at login; null until then. */
  acl: Acl | null;
  username?: string;
  /** The will topic of the CONNECT packet (set by preConnect). */
  willTopic?: string;
  /** QoS 2 command message ids seen in the current parse batch (see hooks/authorize-publish.ts). */
  readonly recentQos2: Set<number>;
  /** Granted QoS per subscribed filter; aedes itself is given QoS 2 (see hooks/authorize-subscribe.ts). */
  readonly granted: Map<string, GrantedQos>;
  /** Unacknowledged outbound QoS 1/2 packets (see hooks/authorize-forward.ts). */
  readonly inflight: () => number;
  /** Set once a limit has closed this connection, so that it is logged once. */
  limitTripped?: boolean;
  /** True from login until the connection closes (counted by ClientSessions), then false. */
  attached?: boolean;
  /** Subscribe denials so far (see hooks/authorize-subscribe.ts). */
  subscribeDenials: number;
}

export function newClientSession(info: Pick<ConnectionInfo, 'peer' | 'protocol' | 'certificate'>, inflight: () => number): ClientSession {
  const { peer, protocol, certificate } = info;
  return { peer, protocol, since: Date.now(), certificate, acl: null, recentQos2: new Set(), granted: new Map(), inflight, subscribeDenials: 0 };
}

/** Remembers a QoS 2 command id until the next turn of the event loop (see hooks/authorize-publish.ts). */
export function rememberQos2(session: ClientSession, messageId: number): void {
  if (session.recentQos2.size === 0) setImmediate(() => session.recentQos2.clear());
  session.recentQos2.add(messageId);
}

/** The sessions of the open connections, and which client ids are logged in. */
export class ClientSessions<C extends { id: string } = { id: string }> {
  private readonly sessions = new WeakMap<C, ClientSession>();
  /** Logged-in connections per client id: a persistent session with one is not offline. */
  private readonly attachedIds = new Map<string, number>();

  get(client: C | null): ClientSession | undefined {
    return client ? this.sessions.get(client) : undefined;
  }

  set(client: C, session: ClientSession): void {
    this.sessions.set(client, session);
  }

  peerOf(client: C | null): string {
    return this.get(client)?.peer ?? 'unknown';
  }

  /** Whether a client with this id is logged in on some connection. */
  attached(clientId: string): boolean {
    return this.attachedIds.has(clientId);
  }

  /** At login. Does nothing when the connection closed while the password was checked. */
  attach(client: C, session: ClientSession): void {
    if (session.attached !== undefined) return;
    session.attached = true;
    this.attachedIds.set(client.id, (this.attachedIds.get(client.id) ?? 0) + 1);
  }

  /** When the connection closes. */
  detach(client: C): void {
    const session = this.sessions.get(client);
    if (!session) return;
    const wasAttached = session.attached;
    session.attached = false;
    if (!wasAttached) return;
    const left = (this.attachedIds.get(client.id) ?? 1) - 1;
    if (left > 0) this.attachedIds.set(client.id, left);
    else this.attachedIds.delete(client.id);
  }
}
