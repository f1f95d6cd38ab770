// The plain MQTT-over-TCP listener (MQTT 3.1.1 section 4.2).
import { createServer, type Server } from 'node:net';
import type { Logger } from 'pino';
import { BrokerError } from '../errors.js';
import { listenOn, logListening, logServerErrors, SocketTracker } from './bound-server.js';
import { peerOf, type ConnectionHandler, type Listener } from './types.js';

export class TcpListener implements Listener {
  readonly protocol = 'mqtt+tcp';
  private server: Server | null = null;
  private readonly sockets = new SocketTracker();
  private boundPort = 0;

  constructor(
    private readonly options: { host: string; port: number },
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
    const server = createServer((socket) => {
      this.sockets.add(socket);
      onConnection(socket, { peer: peerOf(socket), protocol: this.protocol });
    });
    this.server = server;
    try {
      this.boundPort = await listenOn(server, this.options.host, this.options.port);
    } catch (err) {
      this.server = null;
      throw err;
    }
    logServerErrors(server, this.log, this.protocol);
    logListening(this.log, this.protocol, this.options.host, this.boundPort);
  }

  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = null;
    await this.sockets.close(server);
  }
}
