// MQTT over WebSocket (MQTT 3.1.1 section 6), plain or over TLS, on a node http(s) server with the
// `ws` package. The upgrade is checked here (path, "mqtt" subprotocol) before ws completes it.
import { createServer as createHttpServer, STATUS_CODES, type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import { createRequire } from 'node:module';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import type { Logger } from 'pino';
import type { WebSocket, WebSocketServer } from 'ws';
import { BoundListener } from './bound-server.js';
import type { TlsSecurity } from './tls-security.js';
import { peerOf, type ConnectionHandler } from './types.js';

export interface WsListenerOptions {
  host: string;
  port: number;
  /** Request path of the upgrade, e.g. "/mqtt". */
  path: string;
  /** Largest WebSocket message accepted (ws buffers a message whole before handing it on). */
  maxPayloadBytes: () => number;
  /**
   * Time from the TCP accept to a completed WebSocket upgrade (the TLS handshake included); the
   * broker's connect timeout, which takes over from there until CONNECT.
   */
  upgradeTimeoutMs: number;
}

/**
 * MQTT-6.0.0-3/-4: the client offers "mqtt" and the server selects it. "mqttv3.1" is the name
 * MQTT 3.1 clients (and MQTT.js for protocol version 3) offer.
 */
export const WS_SUBPROTOCOLS = ['mqtt', 'mqttv3.1'] as const;

function pickSubprotocol(offered: Set<string>): string | false {
  return WS_SUBPROTOCOLS.find((p) => offered.has(p)) ?? false;
}

function offeredSubprotocols(req: IncomingMessage): Set<string> {
  const header = req.headers['sec-websocket-protocol'];
  return new Set((header ?? '').split(',').map((p) => p.trim()).filter(Boolean));
}

function requestPath(req: IncomingMessage): string {
  const url = req.url ?? '';
  const query = url.indexOf('?');
  return query < 0 ? url : url.slice(0, query);
}

/** Answers an upgrade request that is not for us with a plain HTTP error, then closes. */
function refuseUpgrade(socket: Duplex, status: number, message: string): void {
  const body = `${message}\n`;
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nConnection: close\r\nContent-Type: text/plain\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}

type WsPackage = typeof import('ws');
let wsModule: WsPackage | undefined;

/** `ws`, required when a WebSocket listener starts, not on import: a broker without one never loads it. */
function wsPackage(): WsPackage {
  wsModule ??= createRequire(import.meta.url)('ws') as WsPackage;
  return wsModule;
}

export class WsListener extends BoundListener<HttpServer | HttpsServer, WsListenerOptions> {
  readonly protocol: 'mqtt+ws' | 'mqtt+wss';
  private wss: WebSocketServer | null = null;
  /** Per "address:port" of an accepted socket, the timer that closes it unless its upgrade completes. */
  private readonly upgradeDeadlines = new Map<string, NodeJS.Timeout>();

  /** `security` given: WebSocket over TLS with its certificates and client-certificate policy. */
  constructor(
    options: WsListenerOptions,
    private readonly security: TlsSecurity | null,
    log: Logger,
  ) {
    super(options, log);
    this.protocol = security ? 'mqtt+wss' : 'mqtt+ws';
  }

  protected createServer(onConnection: ConnectionHandler): HttpServer | HttpsServer {
    const security = this.security;
    let server: HttpServer | HttpsServer;
    if (security) {
      const secure = createHttpsServer(security.serverOptions());
      security.watch(secure, this.protocol);
      // Refuses a failed client certificate (optional policy) before HTTP reads a byte.
      secure.on('secureConnection', (socket: TLSSocket) => void security.admit(socket, this.protocol));
      server = secure;
    } else {
      server = createHttpServer();
    }
    // Node's own limits on a request that never ends (60 s for headers, 300 s in all by default)
    // only back up the upgrade deadline: they are checked every connectionsCheckingInterval.
    server.headersTimeout = this.options.upgradeTimeoutMs;
    server.requestTimeout = this.options.upgradeTimeoutMs;
    server.on('connection', (raw: Socket) => this.startUpgradeDeadline(raw));
    server.on('request', (req: IncomingMessage, res: ServerResponse) => this.answerPlainRequest(req, res));
    const wss = new (wsPackage().WebSocketServer)({
      noServer: true,
      clientTracking: false,
      // Compression would cost CPU and memory per connection for packets of a few hundred bytes.
      perMessageDeflate: false,
      maxPayload: this.options.maxPayloadBytes(),
      handleProtocols: (offered) => pickSubprotocol(offered),
    });
    wss.on('error', (err) => this.log.error({ err, protocol: this.protocol }, 'websocket server error'));
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => this.upgrade(req, socket, head, onConnection));
    this.wss = wss;
    return server;
  }

  protected override release(server: HttpServer | HttpsServer): void {
    this.wss?.close();
    this.wss = null;
    for (const timer of this.upgradeDeadlines.values()) clearTimeout(timer);
    this.upgradeDeadlines.clear();
    if (this.security) this.security.unwatch(server as HttpsServer);
  }

  protected override listeningDetails(): Record<string, unknown> {
    return { path: this.options.path };
  }

  /**
   * A socket that has not completed its upgrade within the connect timeout is closed, however
   * slowly it trickles bytes; the same peer string names it on the TLS socket above it.
   */
  private startUpgradeDeadline(raw: Socket): void {
    const peer = peerOf(raw);
    const timer = setTimeout(() => {
      this.log.debug({ peer, protocol: this.protocol }, 'websocket upgrade not completed within the connect timeout; closing');
      raw.destroy();
    }, this.options.upgradeTimeoutMs);
    timer.unref();
    this.upgradeDeadlines.set(peer, timer);
    raw.once('close', () => {
      clearTimeout(timer);
      if (this.upgradeDeadlines.get(peer) === timer) this.upgradeDeadlines.delete(peer);
    });
  }

  private upgradeCompleted(peer: string): void {
    const timer = this.upgradeDeadlines.get(peer);
    if (timer === undefined) return;
    clearTimeout(timer);
    this.upgradeDeadlines.delete(peer);
  }

  private upgrade(req: IncomingMessage, socket: Duplex, head: Buffer, onConnection: ConnectionHandler): void {
    const wss = this.wss;
    // Node's http server stops watching a socket's errors once it is handed over for an upgrade.
    socket.on('error', (err) => this.log.debug({ err: err.message, protocol: this.protocol }, 'websocket upgrade socket error'));
    const peer = peerOf(req.socket);
    if (!wss) return void socket.destroy();
    if (requestPath(req) !== this.options.path) {
      this.log.debug({ peer, path: requestPath(req), protocol: this.protocol }, 'websocket upgrade for another path refused');
      return refuseUpgrade(socket, 404, `MQTT over WebSocket is served at ${this.options.path}`);
    }
    if (pickSubprotocol(offeredSubprotocols(req)) === false) {
      // MQTT-6.0.0-3: a client must offer the "mqtt" subprotocol.
      this.log.debug({ peer, offered: req.headers['sec-websocket-protocol'], protocol: this.protocol }, 'websocket upgrade without the mqtt subprotocol refused');
      return refuseUpgrade(socket, 400, 'the "mqtt" WebSocket subprotocol is required');
    }
    const certificate = this.security?.identify(req.socket as TLSSocket);
    wss.handleUpgrade(req, socket, head, (ws: WebSocket) => {
      this.upgradeCompleted(peer);
      ws.on('error', (err) => this.log.debug({ err: err.message, peer, protocol: this.protocol }, 'websocket error'));
      const stream = wsPackage().createWebSocketStream(ws);
      // A write after the client's close frame would fail with "WebSocket is not open", which the
      // broker would log as an unexpected error; on TCP the same moment is a routine EPIPE.
      const send = stream._write.bind(stream);
      stream._write = (chunk: Buffer, encoding: BufferEncoding, callback: (err?: Error | null) => void) => {
        if (ws.readyState !== ws.OPEN) return callback(Object.assign(new Error('write after the WebSocket closed'), { code: 'EPIPE' }));
        send(chunk, encoding, callback);
      };
      // MQTT-6.0.0-1: MQTT packets travel in binary frames; any other data frame closes the
      // connection. Runs before the stream's own listener, which would pass the text on.
      ws.prependListener('message', (_data: unknown, isBinary: boolean) => {
        if (isBinary) return;
        this.log.debug({ peer, protocol: this.protocol }, 'websocket text frame; closing connection');
        stream.destroy();
      });
      onConnection(stream, { peer, protocol: this.protocol, ...(certificate ? { certificate } : {}) });
    });
  }

  private answerPlainRequest(req: IncomingMessage, res: ServerResponse): void {
    const here = requestPath(req) === this.options.path;
    const status = here ? 426 : 404;
    res.writeHead(status, { 'Content-Type': 'text/plain', Connection: 'close', ...(here ? { Upgrade: 'websocket' } : {}) });
    res.end(here ? 'MQTT over WebSocket: send a WebSocket upgrade with the "mqtt" subprotocol\n' : 'not found\n');
  }
}
