// MQTT over TLS (MQTT 3.1.1 section 4.2 over TLS, section 5.4.9), optionally with client
// certificates that log a client in as a configured user.
import { createServer, type Server, type TLSSocket } from 'node:tls';
import type { Logger } from 'pino';
import { BrokerError } from '../errors.js';
import { listenOn, logListening, logServerErrors, SocketTracker } from './bound-server.js';
import type { TlsSecurity } from './tls-security.js';
import { peerOf, type ConnectionHandler, type Listener } from './types.js';

export class TlsListener implements Listener {
  readonly protocol = 'mqtt+tls';
  private server: Server | null = null;
  private readonly sockets = new SocketTracker();
  private boundPort = 0;

  constructor(
    private readonly options: { host: string; port: number },
    private readonly security: TlsSecurity,
    private readonly log: Logger,
  ) {}

  get port(): number {
    return this.boundPort;
  }

  get address(): string {
    return this.options.host;
  }

  async start(onConnection: ConnectionHandler): Promise<void> {
    if (this.server) throw new BrokerError('BROKER_ALREADY_STARTED', 'listener already started');
    const server = createServer(this.security.serverOptions());
    server.on('connection', (raw) => this.sockets.add(raw));
    this.security.watch(server, this.protocol);
    server.on('secureConnection', (socket: TLSSocket) => {
      const admitted = this.security.admit(socket, this.protocol);
      if (!admitted) return;
      onConnection(socket, { peer: peerOf(socket), protocol: this.protocol, ...admitted });
    });
    this.server = server;
    try {
      this.boundPort = await listenOn(server, this.options.host, this.options.port);
    } catch (err) {
      this.security.unwatch(server);
      this.server = null;
      throw err;
    }
    logServerErrors(server, this.log, this.protocol);
    const { fingerprint, validTo } = this.security.current();
    logListening(this.log, this.protocol, this.options.host, this.boundPort, {
      client_certificates: this.security.settings.clientCertificates,
      certificate: fingerprint,
      not_after: validTo.toISOString(),
    });
  }

  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = null;
    this.security.unwatch(server);
    await this.sockets.close(server);
  }
}
