// GET /api/live: Server-Sent Events. A device's news is sent at most every FLUSH_MS (changes in
// between are coalesced, so a chattering device costs the same as a calm one per client), command
// results at once, the gateway state with the ping. A feed ends with its session (logout, expiry).
import type { ServerResponse } from 'node:http';
import type { CommandResult } from '../../commands/result.js';
import type { ConsoleUser } from './context.js';
import { gatewayView } from './gateway-view.js';
import type { ConsoleServerParts } from './parts.js';
import type { Route } from './router.js';
import type { ConsoleSession } from './sessions.js';
import { summarize } from './summaries.js';

const FLUSH_MS = 100;
export const PING_MS = 15_000;
/** Feeds open at once, at most (each holds a socket). */
const MAX_FEEDS = 100;

interface Feed {
  res: ServerResponse;
  session: ConsoleSession;
}

export class LiveFeed {
  private readonly feeds = new Set<Feed>();
  private readonly dirty = new Set<string>();
  private flushTimer: NodeJS.Timeout | undefined;
  private pingTimer: NodeJS.Timeout | undefined;

  constructor(private readonly parts: () => ConsoleServerParts) {}

  start(): void {
    this.pingTimer = setInterval(() => this.ping(), PING_MS);
    this.pingTimer.unref();
  }

  stop(): void {
    clearInterval(this.pingTimer);
    clearTimeout(this.flushTimer);
    for (const feed of [...this.feeds]) feed.res.end();
    this.feeds.clear();
  }

  get size(): number {
    return this.feeds.size;
  }

  deviceChanged(id: string): void {
    if (this.feeds.size === 0) return;
    this.dirty.add(id);
    this.flushTimer ??= setTimeout(() => this.flush(), FLUSH_MS);
  }

  result(result: CommandResult): void {
    if (this.feeds.size === 0) return;
    const data = { id: result.id, command: result.command, device: result.device, kind: result.kind, code: result.status === 'ok' ? 'ok' : (result.code ?? 'error'), message: result.message, source: result.source, at: result.timing.finished_at };
    for (const feed of this.feeds) send(feed.res, 'result', data);
  }

  sessionEnded(session: ConsoleSession): void {
    for (const feed of [...this.feeds]) if (feed.session === session) feed.res.end();
  }

  route(): Route {
    return {
      method: 'GET',
      path: '/api/live',
      access: 'user',
      handler: ({ req, res, session }) => {
        if (this.feeds.size >= MAX_FEEDS) {
          res.statusCode = 503;
          res.end();
          return;
        }
        res.statusCode = 200;
        res.setHeader('Content-Type', 'text/event-stream; charset=utf-8');
        res.setHeader('Cache-Control', 'no-store');
        res.setHeader('X-Accel-Buffering', 'no');
        res.flushHeaders();
        req.socket.setTimeout(0);
        const feed = { res, session: session! };
        this.feeds.add(feed);
        res.once('close', () => this.feeds.delete(feed));
        res.write(`retry: 3000\n\n`);
        send(res, 'gateway', gatewayView(this.parts().deps));
      },
    };
  }

  private flush(): void {
    this.flushTimer = undefined;
    const ids = [...this.dirty];
    this.dirty.clear();
    const parts = this.parts();
    const site = parts.deps.config().site;
    // One summary per device and user (the commands differ by ACL), however many tabs are open.
    const byUser = new Map<string, ConsoleUser | undefined>();
    const texts = new Map<string, string>();
    for (const feed of this.feeds) {
      const name = feed.session.username;
      if (!byUser.has(name)) byUser.set(name, parts.userOf(feed.session));
      const user = byUser.get(name);
      if (!user) {
        feed.res.end();
        continue;
      }
      for (const id of ids) {
        const key = `${name}\n${id}`;
        let text = texts.get(key);
        if (text === undefined) {
          const device = parts.deps.devices.get(id);
          if (!device) continue;
          text = JSON.stringify(summarize(device, parts.activity, user, site));
          texts.set(key, text);
        }
        feed.res.write(`event: device\ndata: ${text}\n\n`);
      }
    }
  }

  private ping(): void {
    if (this.feeds.size === 0) return;
    const state = JSON.stringify(gatewayView(this.parts().deps));
    for (const feed of this.feeds) feed.res.write(`: ping\n\nevent: gateway\ndata: ${state}\n\n`);
  }
}

function send(res: ServerResponse, event: string, data: unknown): void {
  res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
}
