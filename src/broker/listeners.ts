// The broker's network listeners: plain TCP, TLS, and WebSocket (plain or over TLS), each with its
// own address and port, each optional. They hand accepted connections to the broker.
import type { Logger } from 'pino';
import type { TlsSettings } from './listeners/certificates.js';
import { HandshakeFailureLog, type HandshakeFailure } from './listeners/handshake-failures.js';
import { TcpListener } from './listeners/tcp.js';
import { TlsListener } from './listeners/tls.js';
import { TlsSecurity } from './listeners/tls-security.js';
import type { Listener } from './listeners/types.js';
import { WsListener } from './listeners/ws.js';

export { peerOf, type ConnectionAdmission, type ConnectionHandler, type ConnectionInfo, type Listener, type PeerCertificateInfo } from './listeners/types.js';
export { CLIENT_CERTIFICATE_POLICIES, type ClientCertificatePolicy, type TlsMaterial, type TlsSettings } from './listeners/certificates.js';
export type { HandshakeFailure } from './listeners/handshake-failures.js';
export { TcpListener } from './listeners/tcp.js';
export { TlsListener } from './listeners/tls.js';
export { TlsSecurity } from './listeners/tls-security.js';
export { WsListener } from './listeners/ws.js';

export const DEFAULT_WS_PATH = '/mqtt';

export type ListenerKind = 'tcp' | 'tls' | 'ws';

/** Which listeners a broker runs besides its address; see BrokerOptions.listeners. */
export interface ListenerSettings {
  /** The plain TCP listener on BrokerOptions.host/port; on unless `enabled: false`. */
  tcp?: { enabled: boolean };
  tls?: { enabled: boolean; host: string; port: number };
  /** `tls: true` serves WebSocket over TLS with `certificates` (and its client-certificate policy). */
  ws?: { enabled: boolean; host: string; port: number; path?: string; tls?: boolean };
  /** Certificate, key, CA and client-certificate policy of the TLS listener and of a secure WebSocket listener. */
  certificates?: TlsSettings;
}

export interface BuiltListeners {
  listeners: Map<ListenerKind, Listener>;
  /** Present when some listener serves TLS. */
  tls: TlsSecurity | null;
}

const NO_CERTIFICATES: TlsSettings = { cert: '', key: '', clientCertificates: 'off', identityFrom: 'cn' };

/** Builds (does not start) the listeners `settings` enable, in the order tcp, tls, ws. */
export function buildListeners(
  tcp: { host: string; port: number },
  settings: ListenerSettings,
  context: {
    log: Logger;
    maxPacketBytes: () => number;
    /** The broker's connect timeout: bounds TLS handshakes and WebSocket upgrades. */
    handshakeTimeoutMs: number;
    onHandshakeFailure: (failure: HandshakeFailure) => void;
  },
): BuiltListeners {
  const listeners = new Map<ListenerKind, Listener>();
  const wantsTls = settings.tls?.enabled === true || (settings.ws?.enabled === true && settings.ws.tls === true);
  const security = wantsTls
    ? new TlsSecurity(settings.certificates ?? NO_CERTIFICATES, new HandshakeFailureLog(context.onHandshakeFailure, context.log), context.handshakeTimeoutMs)
    : null;
  if (settings.tcp?.enabled !== false) listeners.set('tcp', new TcpListener(tcp, context.log));
  if (settings.tls?.enabled && security) listeners.set('tls', new TlsListener(settings.tls, security, context.log));
  if (settings.ws?.enabled) {
    const { host, port, path = DEFAULT_WS_PATH, tls = false } = settings.ws;
    listeners.set('ws', new WsListener({ host, port, path, maxPayloadBytes: context.maxPacketBytes, upgradeTimeoutMs: context.handshakeTimeoutMs }, tls ? security : null, context.log));
  }
  return { listeners, tls: security };
}
