// A real gateway with the console on 127.0.0.1 port 0 (the test site of test/support/site.ts;
// guard may command and is admin, viewer may not command), and a small browser stand-in: a
// cookie jar, the CSRF header, JSON bodies, over real HTTP(S) with fetch.
import type { TestContext } from 'node:test';
import { request as httpsRequest } from 'node:https';
import { readFileSync } from 'node:fs';
import type { GatehouseConfig } from '../../../src/config.js';
import type { ModbusDevice } from '../../support/modbus-device.js';
import { configDocument } from '../../support/site.js';
import { startGatewayFrom, tempDataDir, type RunningGateway } from '../../support/gateway.js';

export { USERS } from '../../support/site.js';

export interface ConsoleGateway extends RunningGateway {
  base: string;
}

/** A gateway with the console enabled; `console` is merged over the section, `edit` changes the document last. */
export async function startConsoleGateway(t: TestContext, device: ModbusDevice, console: Record<string, unknown> = {}, edit?: (doc: Record<string, any>) => void): Promise<ConsoleGateway> {
  const doc = (await configDocument(device.port, tempDataDir(t))) as Record<string, any>;
  doc.console = { enabled: true, host: '127.0.0.1', port: 0, ...console };
  doc.users[0].roles = ['admin'];
  edit?.(doc);
  const gw = await startGatewayFrom(t, doc);
  return { ...gw, base: gw.gateway.consoleUrl!.replace(/\/$/, '') };
}

export interface Answer {
  status: number;
  headers: Headers;
  text: string;
  json: any;
}

/** One browser: keeps the session cookie and the CSRF token of its login. */
export class Browser {
  cookie: string | undefined;
  csrf: string | undefined;
  lastSetCookie: string | null = null;

  constructor(readonly base: string, private readonly ca?: string) {}

  async request(method: string, path: string, opts: { body?: unknown; raw?: string; headers?: Record<string, string>; csrf?: string | null } = {}): Promise<Answer> {
    const headers: Record<string, string> = { ...opts.headers };
    if (this.cookie) headers.cookie = this.cookie;
    const csrf = opts.csrf === undefined ? this.csrf : opts.csrf;
    if (method === 'POST' && csrf) headers['x-csrf-token'] = csrf;
    let body: string | undefined = opts.raw;
    if (opts.body !== undefined) {
      body = JSON.stringify(opts.body);
      headers['content-type'] = 'application/json';
    }
    const res = this.ca ? await this.httpsFetch(method, path, headers, body) : await fetch(this.base + path, { method, headers, body, redirect: 'manual' });
    const setCookie = res.headers.get('set-cookie');
    this.lastSetCookie = setCookie;
    if (setCookie) {
      const value = setCookie.split(';')[0];
      this.cookie = value.endsWith('=') ? undefined : value;
    }
    const text = await res.text();
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: res.status, headers: res.headers, text, json };
  }

  get(path: string): Promise<Answer> {
    return this.request('GET', path);
  }

  post(path: string, body?: unknown): Promise<Answer> {
    return this.request('POST', path, { body });
  }

  async login(username: string, password: string): Promise<Answer> {
    const answer = await this.post('/api/login', { username, password });
    if (answer.status === 200) this.csrf = answer.json.csrf;
    return answer;
  }

  /** fetch() cannot be given a CA: the same request over node:https, trusting `ca`. */
  private httpsFetch(method: string, path: string, headers: Record<string, string>, body?: string): Promise<Response> {
    return new Promise((resolve, reject) => {
      const req = httpsRequest(this.base + path, { method, headers, ca: readFileSync(this.ca!) }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const h = new Headers();
          for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) h.set(k, Array.isArray(v) ? v.join(', ') : v);
          resolve(new Response(Buffer.concat(chunks), { status: res.statusCode, headers: h }));
        });
      });
      req.on('error', reject);
      req.end(body);
    });
  }
}

export type { GatehouseConfig };
