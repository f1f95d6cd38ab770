// The console's HTTP(S) server: one listener, node:http/https only. Each request: security
// headers, the per-address rate limit, the route (its access checked: session cookie, admin role),
// the CSRF header and a bounded JSON body on POST, then the handler.
import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { packageRoot } from '../../paths.js';
import type { ConsoleDeps, RequestContext } from './context.js';
import { DeviceActivity } from './device-activity.js';
import { securityHeaders, sendError } from './headers.js';
import { BodyTooLarge, RateLimiter, readBody } from './limits.js';
import { LiveFeed } from './live.js';
import { userOf, type ConsoleServerParts } from './parts.js';
import { Router, type Route } from './router.js';
import { commissioningRoutes } from './routes/commissioning.js';
import { deviceRoutes } from './routes/devices.js';
import { journalRoutes } from './routes/journal.js';
import { sessionRoutes } from './routes/session.js';
import { viewRoutes } from './routes/views.js';
import { SecurityLog } from './security-log.js';
import { csrfMatches, SessionStore, sessionIdFrom } from './sessions.js';
import { StaticFiles } from './static-files.js';

const SWEEP_MS = 1000;

export class ConsoleServer {
  readonly router: Router;
  private readonly parts: ConsoleServerParts;
  private readonly live: LiveFeed;
  private readonly limiter: RateLimiter;
  private readonly files: StaticFiles;
  private server: Server | undefined;
  private sweeper: NodeJS.Timeout | undefined;
  private https = false;
  private reload: Record<string, unknown> | null = null;
  private readonly offReload: (() => void)[] = [];

  constructor(private readonly deps: ConsoleDeps) {
    const sessions = new SessionStore(() => ({ idleMs: deps.config().console.session_idle_s * 1000, maxMs: deps.config().console.session_max_s * 1000 }));
    this.live = new LiveFeed(() => this.parts);
    const activity = new DeviceActivity(deps.bus, (id) => this.live.deviceChanged(id), (result) => this.live.result(result));
    this.parts = { deps, sessions, activity, security: new SecurityLog(deps.bus), lastReload: () => this.reload, userOf: (s) => userOf(deps, s) };
    sessions.onEnded((session) => this.live.sessionEnded(session));
    this.limiter = new RateLimiter(() => deps.config().console.requests_per_minute);
    this.files = new StaticFiles(deps.uiDir ?? join(packageRoot(), 'src', 'console', 'ui'));
    this.router = new Router([
      ...sessionRoutes(this.parts),
      ...deviceRoutes(this.parts),
      ...journalRoutes(this.parts),
      ...viewRoutes(this.parts),
      ...commissioningRoutes(this.parts),
      this.live.route(),
    ]);
  }

  /** The bound port; undefined before start(). */
  get port(): number | undefined {
    return (this.server?.address() as AddressInfo | null)?.port;
  }

  get protocol(): 'http' | 'https' {
    return this.https ? 'https' : 'http';
  }

  /** Live feeds open now. */
  get liveFeeds(): number {
    return this.live.size;
  }

  async start(): Promise<void> {
    const config = this.deps.config();
    const { host, port, tls } = config.console;
    this.https = tls;
    const handler = (req: IncomingMessage, res: ServerResponse) => void this.handle(req, res);
    const server = tls
      ? createHttpsServer({ cert: readFileSync(config.broker.tls.cert), key: readFileSync(config.broker.tls.key) }, handler)
      : createHttpServer(handler);
    server.headersTimeout = 10_000;
    server.requestTimeout = 30_000;
    server.maxHeadersCount = 50;
    this.parts.activity.start();
    this.parts.security.start();
    this.live.start();
    this.offReload.push(
      this.deps.bus.on('config.reloaded', 'console', ({ plan }) => {
        const { needsRestart, transports, devices, links, access, settings } = plan;
        this.reload = { at: Date.now(), outcome: 'applied', changes: { needsRestart, transports, devices, links, access, settings } };
        for (const name of this.parts.sessions.usernames()) if (!plan.effective.users.some((u) => u.username === name)) this.parts.sessions.endUser(name);
      }),
      this.deps.bus.on('config.reloadFailed', 'console', ({ errors }) => {
        this.reload = { at: Date.now(), outcome: 'rejected', errors: errors.slice(0, 50) };
      }),
    );
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.server = server;
    this.sweeper = setInterval(() => this.parts.sessions.sweep(), SWEEP_MS);
    this.sweeper.unref();
    const url = this.url();
    if (!tls && !['127.0.0.1', '::1', 'localhost'].includes(host)) this.deps.log.warn({ host }, 'console served without TLS beyond loopback: passwords cross the network in clear; set console.tls');
    this.deps.log.info({ port: this.port, url }, 'console listening');
  }

  url(): string {
    const host = this.deps.config().console.host;
    const shown = host.includes(':') ? `[${host}]` : host === '0.0.0.0' ? '127.0.0.1' : host;
    return `${this.protocol}://${shown}:${this.port}/`;
  }

  async stop(): Promise<void> {
    clearInterval(this.sweeper);
    for (const off of this.offReload.splice(0)) off();
    this.live.stop();
    this.parts.activity.stop();
    this.parts.security.stop();
    const server = this.server;
    this.server = undefined;
    if (server) {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    }
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      await this.route(req, res);
    } catch (err) {
      if (err instanceof BodyTooLarge) {
        res.setHeader('Connection', 'close');
        return sendError(res, 413, 'too_large', err.message);
      }
      this.deps.log.error({ err, url: req.url }, 'console request failed');
      if (!res.headersSent) sendError(res, 500, 'server_error', 'the request failed; see the gateway log');
      else res.end();
    }
  }

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    securityHeaders(res, this.https);
    const address = req.socket.remoteAddress ?? 'unknown';
    const peer = `${address.includes(':') ? `[${address}]` : address}:${req.socket.remotePort ?? 0}`;
    if (!this.limiter.admit(address)) {
      res.setHeader('Retry-After', '60');
      return sendError(res, 429, 'rate_limited', 'too many requests from this address; wait a minute');
    }
    const url = new URL(req.url ?? '/', 'http://console');
    const method = req.method ?? 'GET';
    if ((method === 'GET' || method === 'HEAD') && url.pathname === '/') return this.files.serveIndex(req, res);
    if ((method === 'GET' || method === 'HEAD') && url.pathname.startsWith('/assets/')) return this.files.serveAsset(req, res, url.pathname.slice('/assets/'.length));
    const lookup = this.router.find(method, url.pathname);
    if (!lookup.found) {
      if (lookup.allowed.length > 0) {
        res.setHeader('Allow', lookup.allowed.join(', '));
        return sendError(res, 405, 'method_not_allowed', `use ${lookup.allowed.join(' or ')}`);
      }
      return sendError(res, 404, 'not_found', `no such path ${url.pathname}`);
    }
    const { route, params } = lookup.found;
    const ctx: RequestContext = { req, res, params, query: url.searchParams, peer, https: this.https, body: {} };
    if (route.access !== 'public') {
      // The live feed is not activity: an open page left alone still reaches its idle expiry.
      const session = this.parts.sessions.find(sessionIdFrom(req.headers.cookie), route.path !== '/api/live');
      const user = session && this.parts.userOf(session);
      if (!session || !user) return sendError(res, 401, 'not_logged_in', 'log in first');
      if (route.access === 'admin' && !user.admin) return sendError(res, 403, 'forbidden', 'only users with the admin role');
      if (route.method === 'POST' && !csrfMatches(session, req.headers['x-csrf-token'])) return sendError(res, 403, 'csrf', 'missing or wrong X-CSRF-Token header');
      ctx.session = session;
      ctx.user = user;
    }
    if (route.method === 'POST') {
      const parsed = await this.body(req, res);
      if (!parsed) return;
      ctx.body = parsed;
    }
    await route.handler(ctx);
  }

  /** The JSON object of a POST body; null once an error was answered. */
  private async body(req: IncomingMessage, res: ServerResponse): Promise<Record<string, unknown> | null> {
    const raw = await readBody(req, this.deps.config().console.max_body_bytes);
    if (raw.length === 0) return {};
    // A cross-site form can only send form types: JSON is a second wall beside SameSite and the CSRF token.
    if (!/^application\/json\b/i.test(String(req.headers['content-type'] ?? ''))) {
      sendError(res, 415, 'unsupported_media_type', 'send the body as application/json');
      return null;
    }
    let value: unknown;
    try {
      value = JSON.parse(raw.toString('utf8'));
    } catch {
      sendError(res, 400, 'bad_request', 'the body is not valid JSON');
      return null;
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      sendError(res, 400, 'bad_request', 'the body must be a JSON object');
      return null;
    }
    return value as Record<string, unknown>;
  }
}

export type { Route };
