// Listening and closing for the node servers under every listener: a coded error when the address
// cannot be bound, the open sockets tracked so that close() can end them, and the lifecycle every
// listener shares (BoundListener).
import type { Server, Socket } from 'node:net';
import type { Logger } from 'pino';
import { BrokerError } from '../errors.js';
import { peerOf, type ConnectionAdmission, type ConnectionHandler, type Listener } from './types.js';

/** Binds `server` (port 0 picks a free one) and resolves with the bound port. */
export async function listenOn(server: Server, host: string, port: number): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error) =>
      reject(new BrokerError('BROKER_LISTEN_FAILED', `cannot listen on ${host}:${port}: ${err.message}`, { cause: err }));
    server.once('error', onError);
    server.listen({ host, port, exclusive: true }, () => {
      server.off('error', onError);
      resolve();
    });
  });
  const bound = server.address();
  return bound !== null && typeof bound === 'object' ? bound.port : port;
}

/**
 * Tracks the TCP sockets a server accepted and turns Nagle's algorithm off on each: commands and
 * acknowledgements are small packets, and Nagle would only add latency.
 */
export class SocketTracker {
  private readonly sockets = new Set<Socket>();

  add(socket: Socket): void {
    socket.setNoDelay(true);
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
  }

  /** Closes the server and destroys every socket it accepted; resolves once the server is closed. */
  async close(server: Server): Promise<void> {
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
    await closed;
  }
}

export function logListening(log: Logger, protocol: string, host: string, port: number, extra: Record<string, unknown> = {}): void {
  log.info({ protocol, host, port, ...extra }, 'broker listening');
}

/** Logs listener-level server errors (not connection errors) without letting them throw. */
export function logServerErrors(server: Server, log: Logger, protocol: string): void {
  server.on('error', (err) => log.error({ err, protocol }, 'broker listener error'));
}

/**
 * Puts `admit` in front of every 'connection' listener `server` has (node's own TLS and HTTP ones
 * included): a refused socket is destroyed before a TLS handshake or an HTTP parser is set up for
 * it, so it costs nothing more and is not reported as a failed handshake.
 */
function gateConnections(server: Server, admit: (socket: Socket) => boolean): void {
  const inner = server.listeners('connection') as ((socket: Socket) => void)[];
  server.removeAllListeners('connection');
  server.on('connection', (socket: Socket) => {
    if (!admit(socket)) return;
    for (const listener of inner) listener.call(server, socket);
  });
}

/**
 * The lifecycle of a listener on one node server: start() builds the server, binds it and logs;
 * close() stops it and destroys the sockets it accepted. Subclasses say how the server is built.
 * Every TCP socket is admitted (counted against broker.limits.max_connections) as it is accepted,
 * before a TLS handshake or WebSocket upgrade, and tracked until it closes.
 */
export abstract class BoundListener<S extends Server, O extends { host: string; port: number } = { host: string; port: number }> implements Listener {
  abstract readonly protocol: string;
  private server: S | null = null;
  protected readonly sockets = new SocketTracker();
  private boundPort = 0;

  constructor(
    protected readonly options: O,
    protected readonly log: Logger,
  ) {}

  get port(): number {
    return this.boundPort;
  }

  get address(): string {
    return this.options.host;
  }

  /**
   * Builds the server, wired to hand its connections to `onConnection`. Its 'connection' listeners
   * only see admitted sockets, already added to `sockets`.
   */
  protected abstract createServer(onConnection: ConnectionHandler): S;

  /** Undoes what createServer() registered elsewhere; called on a failed start and on close, before the sockets are destroyed. */
  protected release(_server: S): void {}

  /** Fields added to the "broker listening" log line. */
  protected listeningDetails(): Record<string, unknown> {
    return {};
  }

  async start(onConnection: ConnectionHandler, admit: ConnectionAdmission): Promise<void> {
    if (this.server) throw new BrokerError('BROKER_ALREADY_STARTED', 'listener already started');
    const server = this.createServer(onConnection);
    gateConnections(server, (socket) => {
      // Over the limit: closed at once (the admission logs it), before any byte is read.
      if (!admit(socket, peerOf(socket))) {
        socket.destroy();
        return false;
      }
      this.sockets.add(socket);
      return true;
    });
    this.server = server;
    try {
      this.boundPort = await listenOn(server, this.options.host, this.options.port);
    } catch (err) {
      this.release(server);
      this.server = null;
      throw err;
    }
    logServerErrors(server, this.log, this.protocol);
    logListening(this.log, this.protocol, this.options.host, this.boundPort, this.listeningDetails());
  }

  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = null;
    this.release(server);
    await this.sockets.close(server);
  }
}
