// One HTTP exchange with a camera, bounded: a signal ends it (timeout, link revoked, transport
// stopped), the reply body has a byte limit, and a 401 is answered once with Digest or Basic
// credentials as the camera asks. Every failure is an OnvifError; nothing is left pending.
import http from 'node:http';
import https from 'node:https';
import { OnvifError } from './access.js';
import { authorization, parseChallenges, pickChallenge, type Credentials } from './http-auth.js';

export interface HttpAgents {
  http: http.Agent;
  https: https.Agent;
}

export interface HttpExchange {
  url: URL;
  method: 'GET' | 'POST';
  headers?: Record<string, string>;
  body?: Buffer;
  /** A reply body longer than this fails with body_too_large. */
  maxBytes: number;
  /** Aborting it ends the exchange; an Error reason is what the exchange rejects with. */
  signal: AbortSignal;
  agents: HttpAgents;
  /** Used only to answer a 401 challenge, never sent unasked. */
  credentials?: Credentials;
  /** For messages: the URL as it may be logged (without credentials). */
  label: string;
}

export interface HttpReply {
  status: number;
  statusText: string;
  contentType: string;
  body: Buffer;
  /** The authentication the exchange ended up using. */
  auth: 'none' | 'basic' | 'digest';
}

interface RawReply extends Omit<HttpReply, 'auth'> {
  challenges: string[];
}

/** Error codes of a connection that never carried the request. */
const NOT_CONNECTED = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'EADDRNOTAVAIL']);

export async function httpExchange(x: HttpExchange): Promise<HttpReply> {
  const first = await exchangeOnce(x, undefined);
  if (first.status !== 401 || x.credentials === undefined) return { ...first, auth: 'none' };
  const challenge = pickChallenge(parseChallenges(first.challenges));
  if (challenge === null) return { ...first, auth: 'none' };
  const target = x.url.pathname + x.url.search;
  const second = await exchangeOnce(x, authorization(challenge, x.credentials, x.method, target));
  const auth = challenge.scheme === 'basic' ? 'basic' : 'digest';
  // RFC 7616 section 3.3: stale=true means the credentials were right but the nonce had expired;
  // the request is answered once more with the new nonce rather than reported as refused.
  const renewed = second.status === 401 && auth === 'digest' ? pickChallenge(parseChallenges(second.challenges)) : null;
  if (renewed === null || renewed.scheme !== 'digest' || renewed.params.stale?.toLowerCase() !== 'true') return { ...second, auth };
  const third = await exchangeOnce(x, authorization(renewed, x.credentials, x.method, target));
  return { ...third, auth };
}

function abortError(signal: AbortSignal, label: string): Error {
  const reason: unknown = signal.reason;
  if (reason instanceof Error && reason.name !== 'AbortError') return reason;
  return new OnvifError('timeout', 'timeout', `${label}: request abandoned`, { cause: reason });
}

function networkError(err: NodeJS.ErrnoException, label: string): OnvifError {
  const code = err.code ?? '';
  const notApplied = NOT_CONNECTED.has(code);
  return new OnvifError('unreachable', 'offline', `${label}: ${err.message}${code && !err.message.includes(code) ? ` (${code})` : ''}`, { cause: err, notApplied });
}

function tooLarge(label: string, limit: number, seen: number): OnvifError {
  return new OnvifError('body_too_large', 'device_error', `${label}: reply of ${seen} bytes or more exceeds the limit of ${limit} bytes`);
}

function exchangeOnce(x: HttpExchange, authHeader: string | undefined): Promise<RawReply> {
  return new Promise<RawReply>((resolve, reject) => {
    if (x.signal.aborted) {
      reject(abortError(x.signal, x.label));
      return;
    }
    const headers: Record<string, string> = { ...x.headers };
    if (authHeader !== undefined) headers.authorization = authHeader;
    if (x.body !== undefined) headers['content-length'] = String(x.body.length);
    let settled = false;
    let request: http.ClientRequest | undefined;
    const onAbort = (): void => fail(abortError(x.signal, x.label));
    const fail = (err: Error): void => {
      if (settled) return;
      settled = true;
      x.signal.removeEventListener('abort', onAbort);
      request?.destroy();
      reject(err);
    };
    try {
      const secure = x.url.protocol === 'https:';
      const options = { method: x.method, headers, agent: secure ? x.agents.https : x.agents.http };
      request = secure ? https.request(x.url, options) : http.request(x.url, options);
    } catch (err) {
      fail(networkError(err as NodeJS.ErrnoException, x.label));
      return;
    }
    x.signal.addEventListener('abort', onAbort, { once: true });
    request.on('error', (err: NodeJS.ErrnoException) => fail(networkError(err, x.label)));
    request.on('response', (res) => {
      res.on('error', (err: NodeJS.ErrnoException) => fail(networkError(err, x.label)));
      res.on('close', () => {
        if (!res.complete) fail(new OnvifError('unreachable', 'offline', `${x.label}: connection closed in the middle of the reply`));
      });
      const declared = Number(res.headers['content-length']);
      if (Number.isFinite(declared) && declared > x.maxBytes) {
        fail(tooLarge(x.label, x.maxBytes, declared));
        return;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > x.maxBytes) fail(tooLarge(x.label, x.maxBytes, size));
        else chunks.push(chunk);
      });
      res.on('end', () => {
        if (settled) return;
        settled = true;
        x.signal.removeEventListener('abort', onAbort);
        resolve({
          status: res.statusCode ?? 0,
          statusText: res.statusMessage ?? '',
          contentType: String(res.headers['content-type'] ?? ''),
          body: Buffer.concat(chunks),
          challenges: res.headersDistinct['www-authenticate'] ?? [],
        });
      });
    });
    request.end(x.body);
  });
}
