// Listening and closing for the node servers under every listener: a coded error when the address
// cannot be bound, and the open sockets tracked so that close() can end them.
import type { Server, Socket } from 'node:net';
import type { Logger } from 'pino';
import { BrokerError } from '../errors.js';

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
