// The page's own files: GET / is index.html, GET /assets/<file> a file under assets/. Names are
// plain (letters, digits, . _ -, no leading dot, no `..`), nothing outside assets/ is served, no
// directory is listed. Gzip when the browser asks, an ETag and revalidation on every load.
import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { extname, join, resolve, sep } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { sendError } from './headers.js';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.webmanifest': 'application/manifest+json',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
};
const COMPRESSIBLE = new Set(['.html', '.js', '.mjs', '.css', '.svg', '.json', '.webmanifest', '.txt']);
const SEGMENT = /^[A-Za-z0-9_][A-Za-z0-9._-]*$/;

interface Cached {
  mtimeMs: number;
  size: number;
  body: Buffer;
  gzip: Buffer | null;
  etag: string;
}

export class StaticFiles {
  private readonly root: string;
  private readonly assets: string;
  private readonly cache = new Map<string, Cached>();

  constructor(uiDir: string) {
    this.root = resolve(uiDir);
    this.assets = join(this.root, 'assets');
  }

  /** `rest` is the path after /assets/ (still percent-encoded). */
  async serveAsset(req: IncomingMessage, res: ServerResponse, rest: string): Promise<void> {
    let decoded: string;
    try {
      decoded = decodeURIComponent(rest);
    } catch {
      return sendError(res, 404, 'not_found', 'no such file');
    }
    const segments = decoded.split('/');
    if (segments.some((s) => !SEGMENT.test(s) || s.includes('..'))) return sendError(res, 404, 'not_found', 'no such file');
    const file = resolve(this.assets, ...segments);
    if (!file.startsWith(this.assets + sep)) return sendError(res, 404, 'not_found', 'no such file');
    await this.serveFile(req, res, file);
  }

  async serveIndex(req: IncomingMessage, res: ServerResponse): Promise<void> {
    await this.serveFile(req, res, join(this.root, 'index.html'));
  }

  private async load(file: string): Promise<Cached | null> {
    let info;
    try {
      info = await stat(file);
    } catch {
      return null;
    }
    if (!info.isFile()) return null;
    const cached = this.cache.get(file);
    if (cached && cached.mtimeMs === info.mtimeMs && cached.size === info.size) return cached;
    const body = await readFile(file);
    const entry = {
      mtimeMs: info.mtimeMs,
      size: info.size,
      body,
      gzip: COMPRESSIBLE.has(extname(file)) ? gzipSync(body) : null,
      etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`,
    };
    this.cache.set(file, entry);
    return entry;
  }

  private async serveFile(req: IncomingMessage, res: ServerResponse, file: string): Promise<void> {
    const entry = await this.load(file);
    if (!entry) return sendError(res, 404, 'not_found', 'no such file');
    res.setHeader('Content-Type', TYPES[extname(file)] ?? 'application/octet-stream');
    res.setHeader('Cache-Control', 'no-cache');
    res.setHeader('ETag', entry.etag);
    res.setHeader('Vary', 'Accept-Encoding');
    if (req.headers['if-none-match'] === entry.etag) {
      res.statusCode = 304;
      res.end();
      return;
    }
    const gzip = entry.gzip && /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''));
    const body = gzip ? entry.gzip! : entry.body;
    if (gzip) res.setHeader('Content-Encoding', 'gzip');
    res.setHeader('Content-Length', body.length);
    res.statusCode = 200;
    res.end(req.method === 'HEAD' ? undefined : body);
  }
}
