// TLS for the broker's secure listeners (MQTT over TLS, and WebSocket over TLS): one set of
// certificate files and one client-certificate policy, shared by every secure server so that a
// reload reaches them all.
import type { Socket } from 'node:net';
import type { Server as TlsServer, TLSSocket, TlsOptions } from 'node:tls';
import { certificateIdentity, type PeerCertificateInfo } from '../client-identity.js';
import { readTlsMaterial, secureContextOptions, type TlsMaterial, type TlsSettings } from './certificates.js';
import type { HandshakeFailureLog } from './handshake-failures.js';
import { peerOf } from './types.js';

interface Remote {
  peer: string;
  address: string;
}

const rawRemotes = new WeakMap<Socket, Remote>();

function remoteOf(socket: Socket): Remote {
  return { peer: peerOf(socket), address: socket.remoteAddress ?? 'unknown' };
}

/**
 * Where a TLS socket came from. A socket refused after the handshake has lost its handle, and with
 * it its address, by the time tlsClientError names it; the address recorded on the TCP socket
 * underneath (node keeps it as `_parent`) still holds.
 */
function remoteOfTls(socket: TLSSocket): Remote {
  if (socket.remoteAddress !== undefined) return remoteOf(socket);
  const raw = (socket as unknown as { _parent?: Socket })._parent;
  return (raw && rawRemotes.get(raw)) ?? { peer: 'unknown', address: 'unknown' };
}

function handshakeReason(err: Error & { code?: string; reason?: string }, socket: TLSSocket): string {
  // Set when the client's certificate failed verification (CERT_HAS_EXPIRED, UNABLE_TO_VERIFY_LEAF_SIGNATURE, ...).
  if (socket.authorizationError) return String(socket.authorizationError);
  if (err.code === 'ECONNRESET') return 'connection closed during the handshake';
  if (err.code === 'ERR_TLS_HANDSHAKE_TIMEOUT') return 'handshake timeout';
  return err.reason ?? err.code ?? err.message;
}

export class TlsSecurity {
  private material: TlsMaterial | null = null;
  /** Watched servers and their tlsClientError listener. */
  private readonly servers = new Map<TlsServer, (err: Error, socket: TLSSocket) => void>();

  constructor(
    readonly settings: TlsSettings,
    private readonly failures: HandshakeFailureLog,
    private readonly handshakeTimeoutMs: number,
  ) {}

  /** The material in use; read from the files on first use (throws a BrokerError naming a bad file). */
  current(): TlsMaterial {
    this.material ??= readTlsMaterial(this.settings);
    return this.material;
  }

  /**
   * Options of a TLS or HTTPS server. With `required`, a client without a certificate fails the
   * handshake in OpenSSL, and node closes one whose certificate fails verification right after the
   * handshake, before any MQTT byte is read; with `optional` the second check is admit()'s.
   */
  serverOptions(): TlsOptions {
    const policy = this.settings.clientCertificates;
    return {
      ...secureContextOptions(this.current()),
      requestCert: policy !== 'off',
      rejectUnauthorized: policy === 'required',
      handshakeTimeout: this.handshakeTimeoutMs,
    };
  }

  /** Reports the server's handshake failures and lets reload() reach it. */
  watch(server: TlsServer, protocol: string): void {
    const onClientError = (err: Error, socket: TLSSocket) => {
      this.failures.record({ ...remoteOfTls(socket), protocol, reason: handshakeReason(err, socket) });
      // With a tlsClientError listener, node 20 leaves closing to it: a handshake timeout would
      // otherwise only be reported, and a client that never sends a ClientHello stays forever.
      socket.destroy();
    };
    this.servers.set(server, onClientError);
    // The TCP socket's address, kept for tlsClientError (see remoteOfTls).
    server.on('connection', (raw: Socket) => rawRemotes.set(raw, remoteOf(raw)));
    server.on('tlsClientError', onClientError);
  }

  /** Before the server's sockets are destroyed: handshakes cut short by closing are no failures. */
  unwatch(server: TlsServer): void {
    const onClientError = this.servers.get(server);
    if (onClientError) server.off('tlsClientError', onClientError);
    this.servers.delete(server);
    if (this.servers.size === 0) this.failures.close();
  }

  /**
   * Called on each completed handshake. Refuses (destroys and reports) a client that presented a
   * certificate that failed verification, which only `optional` lets through the handshake;
   * otherwise returns the verified certificate's identity, if any.
   */
  admit(socket: TLSSocket, protocol: string): { certificate?: PeerCertificateInfo } | null {
    if (this.settings.clientCertificates === 'off') return {};
    if (!socket.authorized) {
      if (socket.getPeerX509Certificate() === undefined) return {};
      this.failures.record({ ...remoteOfTls(socket), protocol, reason: String(socket.authorizationError) });
      socket.destroy();
      return null;
    }
    const certificate = this.identify(socket);
    return certificate ? { certificate } : {};
  }

  /** The identity of the socket's client certificate, if it presented one that verified. */
  identify(socket: TLSSocket): PeerCertificateInfo | undefined {
    if (this.settings.clientCertificates === 'off' || !socket.authorized) return undefined;
    return certificateIdentity(socket.getPeerCertificate(), this.settings.identityFrom);
  }

  /**
   * Reads the files again and applies them to every watched server: new connections get the new
   * certificate, key and CA; open ones keep theirs. A bad file throws and changes nothing.
   */
  reload(): TlsMaterial {
    const material = readTlsMaterial(this.settings);
    const options = secureContextOptions(material);
    for (const server of this.servers.keys()) server.setSecureContext(options);
    this.material = material;
    return material;
  }
}
