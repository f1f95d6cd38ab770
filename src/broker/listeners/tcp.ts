// The plain MQTT-over-TCP listener (MQTT 3.1.1 section 4.2).
import { createServer, type Server } from 'node:net';
import { BoundListener } from './bound-server.js';
import { peerOf, type ConnectionHandler } from './types.js';

export class TcpListener extends BoundListener<Server> {
  readonly protocol = 'mqtt+tcp';

  protected createServer(onConnection: ConnectionHandler): Server {
    return createServer((socket) => onConnection(socket, { peer: peerOf(socket), protocol: this.protocol }));
  }
}
