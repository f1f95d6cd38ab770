// What every network listener of the broker shares: the connection hand-off and the lifecycle.
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { PeerCertificateInfo } from '../client-identity.js';

export type { PeerCertificateInfo } from '../client-identity.js';

/** What a listener knows about a connection it hands to the broker. */
export interface ConnectionInfo {
  /** "address:port" of the remote end (the socket's own address: no proxy header is trusted). */
  peer: string;
  /** mqtt+tcp, mqtt+tls, mqtt+ws or mqtt+wss. */
  protocol: string;
  /** Present only for a client certificate verified against the configured CA. */
  certificate?: PeerCertificateInfo;
}

/** Called for every accepted connection, once it is ready to carry MQTT bytes. */
export type ConnectionHandler = (stream: Duplex, info: ConnectionInfo) => void;

/**
 * Called with every TCP socket a listener accepts, before any TLS handshake or HTTP upgrade:
 * true counts it until it closes; false refuses it (the listener destroys it at once).
 */
export type ConnectionAdmission = (socket: Socket, peer: string) => boolean;

export interface Listener {
  readonly protocol: string;
  /** Bound port; valid after start(). */
  readonly port: number;
  readonly address: string;
  /** `admit` sees each raw TCP socket first; `onConnection` later gets the ones that become MQTT streams. */
  start(onConnection: ConnectionHandler, admit: ConnectionAdmission): Promise<void>;
  /** Stops accepting, destroys the connections still open, resolves once the server is closed. */
  close(): Promise<void>;
}

export function peerOf(socket: Pick<Socket, 'remoteAddress' | 'remotePort'>): string {
  const address = socket.remoteAddress ?? 'unknown';
  return address.includes(':') ? `[${address}]:${socket.remotePort}` : `${address}:${socket.remotePort}`;
}
