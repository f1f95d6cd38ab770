// Part of the simulated ONVIF camera (camera.ts). How the camera checks who is asking, the way a camera does:
//  - SOAP: a WS-Security UsernameToken (OASIS Web Services Security UsernameToken Profile 1.0,
//    section 3.1): PasswordDigest = Base64(SHA-1(nonce + created + password)), Created within a
//    window around the camera's own clock, each Nonce used once (section 4, replay attacks), as
//    ONVIF Core section 5.12 (user token profile) asks of a device.
//  - the snapshot URI: HTTP Digest (RFC 7616: MD5, qop=auth, server nonces, nonce counts) or Basic
//    (RFC 7617).
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { child, childText, type XmlElement } from './xml-tree.js';

export const NS = {
  soap: 'http://www.w3.org/2003/05/soap-envelope',
  wsse: 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd',
  wsu: 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd',
  tt: 'http://www.onvif.org/ver10/schema',
  tds: 'http://www.onvif.org/ver10/device/wsdl',
  trt: 'http://www.onvif.org/ver10/media/wsdl',
  tptz: 'http://www.onvif.org/ver20/ptz/wsdl',
  ter: 'http://www.onvif.org/ver10/error',
} as const;

const PASSWORD_DIGEST = 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordDigest';

export type AuthCheck = { ok: true; user: string } | { ok: false; why: string };

export interface Account {
  user: string;
  password: string;
}

/** Checks the UsernameToken in a SOAP Header against the account and the camera's clock. */
export class UsernameTokenCheck {
  /** Nonces seen within the window, with when they may be forgotten (camera clock). */
  private readonly seenNonces = new Map<string, number>();

  constructor(
    private readonly account: () => Account,
    private readonly cameraNow: () => number,
    private readonly windowMs: number,
  ) {}

  check(header: XmlElement | undefined): AuthCheck {
    const security = child(header, NS.wsse, 'Security');
    const token = child(security, NS.wsse, 'UsernameToken');
    if (token === undefined) return { ok: false, why: 'no wsse:Security/wsse:UsernameToken in the Header' };
    const user = childText(token, NS.wsse, 'Username') ?? '';
    const password = child(token, NS.wsse, 'Password');
    const nonceText = childText(token, NS.wsse, 'Nonce');
    const created = childText(token, NS.wsu, 'Created');
    if (password === undefined || nonceText === undefined || created === undefined) {
      return { ok: false, why: 'UsernameToken lacks Password, Nonce or wsu:Created' };
    }
    if (password.attributes.get('Type') !== PASSWORD_DIGEST) return { ok: false, why: `password type ${password.attributes.get('Type') ?? '(none)'} is not PasswordDigest` };
    const account = this.account();
    if (user !== account.user) return { ok: false, why: `unknown user ${JSON.stringify(user)}` };
    const createdAt = Date.parse(created);
    const now = this.cameraNow();
    if (!Number.isFinite(createdAt)) return { ok: false, why: `wsu:Created ${JSON.stringify(created)} is not a date-time` };
    if (Math.abs(createdAt - now) > this.windowMs) {
      return { ok: false, why: `wsu:Created ${created} is ${Math.round((createdAt - now) / 1000)} s from the camera clock ${new Date(now).toISOString()}` };
    }
    const nonce = Buffer.from(nonceText, 'base64');
    const expected = createHash('sha1').update(Buffer.concat([nonce, Buffer.from(created, 'utf8'), Buffer.from(account.password, 'utf8')])).digest();
    const given = Buffer.from(password.text.trim(), 'base64');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { ok: false, why: 'password digest does not match' };
    for (const [seen, forgetAt] of this.seenNonces) if (forgetAt < now) this.seenNonces.delete(seen);
    if (this.seenNonces.has(nonceText)) return { ok: false, why: 'nonce used before (replay)' };
    this.seenNonces.set(nonceText, createdAt + this.windowMs);
    return { ok: true, user };
  }
}

/** The auth-params of an Authorization header (RFC 7235 section 2.1). */
function authParams(value: string): Record<string, string> {
  const params: Record<string, string> = {};
  for (const m of value.matchAll(/([A-Za-z0-9_-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))/g)) {
    params[m[1].toLowerCase()] = m[2] !== undefined ? m[2].replace(/\\(.)/g, '$1') : m[3];
  }
  return params;
}

/** Digest nonces remembered at once; the demo camera runs for days and is asked for a snapshot at every link. */
const MAX_NONCES = 1024;

const md5 = (text: string) => createHash('md5').update(text, 'utf8').digest('hex');

/** HTTP authentication of the snapshot URI: Digest (RFC 7616, MD5, qop=auth) or Basic (RFC 7617). */
export class HttpAuthCheck {
  private readonly nonces = new Map<string, { lastNc: number }>();
  private readonly opaque = randomBytes(8).toString('hex');

  constructor(
    private readonly scheme: 'digest' | 'basic',
    private readonly realm: string,
    private readonly account: () => Account,
  ) {}

  /** The WWW-Authenticate value of a 401. Nonces are base64, '=' padding included (RFC 7616 section 3.3 allows any). */
  challenge(): string {
    if (this.scheme === 'basic') return `Basic realm="${this.realm}", charset="UTF-8"`;
    const nonce = randomBytes(16).toString('base64');
    this.nonces.set(nonce, { lastNc: 0 });
    // Like a camera's fixed nonce table: the oldest is forgotten (a client using it is challenged anew).
    if (this.nonces.size > MAX_NONCES) this.nonces.delete(this.nonces.keys().next().value!);
    return `Digest realm="${this.realm}", qop="auth", nonce="${nonce}", opaque="${this.opaque}", algorithm=MD5, stale=FALSE`;
  }

  check(authorization: string | undefined, method: string, requestTarget: string): AuthCheck {
    if (authorization === undefined) return { ok: false, why: 'no Authorization header' };
    const space = authorization.indexOf(' ');
    const scheme = authorization.slice(0, space).toLowerCase();
    const account = this.account();
    if (scheme !== this.scheme) return { ok: false, why: `scheme ${scheme} where ${this.scheme} was asked for` };
    if (scheme === 'basic') {
      const decoded = Buffer.from(authorization.slice(space + 1).trim(), 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      const ok = decoded.slice(0, colon) === account.user && decoded.slice(colon + 1) === account.password;
      return ok ? { ok: true, user: account.user } : { ok: false, why: 'wrong user or password' };
    }
    const p = authParams(authorization.slice(space + 1));
    if (p.username !== account.user) return { ok: false, why: `unknown user ${JSON.stringify(p.username)}` };
    if (p.realm !== this.realm) return { ok: false, why: `realm ${JSON.stringify(p.realm)} is not ${JSON.stringify(this.realm)}` };
    if (p.uri !== requestTarget) return { ok: false, why: `uri ${JSON.stringify(p.uri)} is not the request-target ${JSON.stringify(requestTarget)}` };
    if ((p.algorithm ?? 'MD5').toUpperCase() !== 'MD5') return { ok: false, why: `algorithm ${p.algorithm} not offered` };
    if (p.opaque !== this.opaque) return { ok: false, why: 'opaque not returned unchanged' };
    if (p.qop !== 'auth' || p.cnonce === undefined || !/^[0-9a-f]{8}$/i.test(p.nc ?? '')) return { ok: false, why: 'qop=auth with nc and cnonce expected' };
    const state = this.nonces.get(p.nonce ?? '');
    if (state === undefined) return { ok: false, why: 'nonce not issued by this camera' };
    const nc = parseInt(p.nc, 16);
    if (nc <= state.lastNc) return { ok: false, why: `nonce count ${p.nc} not above ${state.lastNc} (replay)` };
    // RFC 7616 section 3.4.1: response = KD(H(A1), nonce:nc:cnonce:qop:H(A2)).
    const ha1 = md5(`${account.user}:${this.realm}:${account.password}`);
    const ha2 = md5(`${method}:${p.uri}`);
    const expected = md5(`${ha1}:${p.nonce}:${p.nc}:${p.cnonce}:auth:${ha2}`);
    if (p.response !== expected) return { ok: false, why: 'digest response does not match' };
    state.lastNc = nc;
    return { ok: true, user: account.user };
  }
}
