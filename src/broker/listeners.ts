// Network listeners that hand accepted connections to the broker. TCP today; TLS and WebSocket
// listeners implement the same interface.
import { createServer, type Server, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { BrokerError } from './errors.js';

/** Called for every accepted connection; `peer` is "address:port" of the remote end. */
export type ConnectionHandler = (stream: Duplex, peer: string) => void;

export interface Listener {
  readonly protocol: string;
  /** Bound port; valid after start(). */
  readonly port: number;
  readonly address: string;
  start(onConnection: ConnectionHandler): Promise<void>;
  /** Stops accepting, destroys the connections still open, resolves once the server is closed. */
  close(): Promise<void>;
}

export function peerOf(socket: Socket): string {
  const address = socket.remoteAddress ?? 'unknown';
  return address.includes(':') ? `[${address}]:${socket.remotePort}` : `${address}:${socket.remotePort}`;
}

export class TcpListener implements Listener {
  readonly protocol = 'mqtt+tcp';
  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();
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
      // Commands and acknowledgements are small packets; Nagle's algorithm would only add latency.
      socket.setNoDelay(true);
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
      onConnection(socket, peerOf(socket));
    });
    server.on('error', (err) => this.log.error({ err, protocol: this.protocol }, 'broker listener error'));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      const onError = (err: Error) => {
        this.server = null;
        reject(
          new BrokerError(
            'BROKER_LISTEN_FAILED',
            `cannot listen on ${this.options.host}:${this.options.port}: ${err.message}`,
            { cause: err },
          ),
        );
      };
      server.once('error', onError);
      server.listen({ host: this.options.host, port: this.options.port, exclusive: true }, () => {
        server.off('error', onError);
        resolve();
      });
    });
    const bound = server.address();
    this.boundPort = bound !== null && typeof bound === 'object' ? bound.port : this.options.port;
    this.log.info({ protocol: this.protocol, host: this.options.host, port: this.boundPort }, 'broker listening');
  }

  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = null;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
    await closed;
  }
}
