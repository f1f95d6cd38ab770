import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface MetricsHandlers {
  /** The Prometheus text exposition. */
  metrics(): Promise<{ contentType: string; body: string }>;
  /** The /healthz answer: 200 when healthy, 503 otherwise, with a JSON body either way. */
  health(): { healthy: boolean; body: Record<string, unknown> };
  /** The /status.json body (src/metrics/gateway-status.ts); undefined: 404. */
  status?(): object | undefined;
}

const PATHS = ['/metrics', '/healthz', '/status.json'];

export class MetricsServerError extends Error {
  constructor(
    readonly code: 'METRICS_LISTEN_FAILED',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'MetricsServerError';
  }
}

/** A plain HTTP server for GET /metrics, /healthz and /status.json; anything else is 404 (or 405 for other methods). */
export class MetricsHttpServer {
  private server: Server | undefined;
  private boundPort = 0;

  constructor(
    private readonly address: { host: string; port: number },
    private readonly handlers: MetricsHandlers,
  ) {}

  /** The bound port (the chosen one when configured with 0); 0 before start. */
  get port(): number {
    return this.boundPort;
  }

  async start(): Promise<void> {
    const server = createServer((req, res) => void this.handle(req, res));
    // Scrapers keep connections alive; a request must not wait on a slow client forever.
    server.requestTimeout = 10_000;
    server.headersTimeout = 10_000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err: NodeJS.ErrnoException) => {
        reject(new MetricsServerError('METRICS_LISTEN_FAILED', `cannot listen on ${this.address.host}:${this.address.port} for metrics (${err.code ?? err.message})`, { cause: err }));
      });
      server.listen({ host: this.address.host, port: this.address.port }, () => resolve());
    });
    this.boundPort = (server.address() as AddressInfo).port;
    this.server = server;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    await closed;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0];
    if (!PATHS.includes(path)) return send(res, 404, 'text/plain; charset=utf-8', `not found: try ${PATHS.join(', ')}\n`);
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('Allow', 'GET, HEAD');
      return send(res, 405, 'text/plain; charset=utf-8', 'method not allowed\n');
    }
    try {
      if (path === '/metrics') {
        const { contentType, body } = await this.handlers.metrics();
        return send(res, 200, contentType, body, req.method === 'HEAD');
      }
      if (path === '/status.json') {
        const status = this.handlers.status?.();
        if (status === undefined) return send(res, 404, 'text/plain; charset=utf-8', 'not found: this gateway serves no /status.json\n');
        return send(res, 200, 'application/json', JSON.stringify(status) + '\n', req.method === 'HEAD');
      }
      const { healthy, body } = this.handlers.health();
      return send(res, healthy ? 200 : 503, 'application/json', JSON.stringify(body) + '\n', req.method === 'HEAD');
    } catch (err) {
      return send(res, 500, 'text/plain; charset=utf-8', `internal error: ${err instanceof Error ? err.message : String(err)}\n`);
    }
  }
}

function send(res: ServerResponse, status: number, contentType: string, body: string, headOnly = false): void {
  if (res.headersSent || res.destroyed) return;
  res.writeHead(status, { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(body), 'Cache-Control': 'no-store' });
  res.end(headOnly ? undefined : body);
}
