// MQTT over TLS (MQTT 3.1.1 section 4.2 over TLS, section 5.4.9), optionally with client
// certificates that log a client in as a configured user.
import { createServer, type Server, type TLSSocket } from 'node:tls';
import type { Logger } from 'pino';
import { BoundListener } from './bound-server.js';
import type { TlsSecurity } from './tls-security.js';
import { peerOf, type ConnectionHandler } from './types.js';

export class TlsListener extends BoundListener<Server> {
  readonly protocol = 'mqtt+tls';

  constructor(
    options: { host: string; port: number },
    private readonly security: TlsSecurity,
    log: Logger,
  ) {
    super(options, log);
  }

  protected createServer(onConnection: ConnectionHandler): Server {
    const server = createServer(this.security.serverOptions());
    this.security.watch(server, this.protocol);
    server.on('secureConnection', (socket: TLSSocket) => {
      const admitted = this.security.admit(socket, this.protocol);
      if (!admitted) return;
      onConnection(socket, { peer: peerOf(socket), protocol: this.protocol, ...admitted });
    });
    return server;
  }

  protected override release(server: Server): void {
    this.security.unwatch(server);
  }

  protected override listeningDetails(): Record<string, unknown> {
    const { fingerprint, validTo } = this.security.current();
    return {
      client_certificates: this.security.settings.clientCertificates,
      certificate: fingerprint,
      not_after: validTo.toISOString(),
    };
  }
}
