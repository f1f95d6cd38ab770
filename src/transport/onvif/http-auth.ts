// HTTP authentication as a client answers a 401: parse the challenges (RFC 7235 section 4.1),
// pick one, and build the Authorization header for Digest (RFC 7616, qop=auth, or RFC 2069
// without qop) or Basic (RFC 7617).
import { createHash, randomBytes } from 'node:crypto';

export interface Credentials {
  user: string;
  password: string;
}

/** One challenge of a WWW-Authenticate header; scheme and parameter names in lower case. */
export interface Challenge {
  scheme: string;
  params: Record<string, string>;
}

const TOKEN_CHAR = /[!#$%&'*+\-.^_`|~0-9A-Za-z]/;

function isSpace(c: string | undefined): boolean {
  return c === ' ' || c === '\t';
}

/**
 * challenge = auth-scheme [ 1*SP #auth-param ], auth-param = token BWS "=" BWS ( token / quoted-string ).
 * One header line may hold several challenges; a token not followed by "=" starts the next one.
 * token68 credentials (RFC 7235 section 2.1) are not used by Basic or Digest challenges and are skipped.
 */
export function parseChallenges(lines: readonly string[]): Challenge[] {
  const challenges: Challenge[] = [];
  for (const line of lines) {
    let current: Challenge | null = null;
    let i = 0;
    while (i < line.length) {
      while (i < line.length && (isSpace(line[i]) || line[i] === ',')) i++;
      const start = i;
      while (i < line.length && TOKEN_CHAR.test(line[i])) i++;
      if (i === start) {
        i++;
        continue;
      }
      const token = line.slice(start, i);
      let j = i;
      while (isSpace(line[j])) j++;
      if (line[j] !== '=') {
        current = { scheme: token.toLowerCase(), params: {} };
        challenges.push(current);
        i = j;
        continue;
      }
      j++;
      while (isSpace(line[j])) j++;
      let value = '';
      if (line[j] === '"') {
        j++;
        while (j < line.length && line[j] !== '"') {
          if (line[j] === '\\' && j + 1 < line.length) j++;
          value += line[j];
          j++;
        }
        j++;
      } else {
        const valueStart = j;
        while (j < line.length && TOKEN_CHAR.test(line[j])) j++;
        value = line.slice(valueStart, j);
      }
      if (current !== null) current.params[token.toLowerCase()] = value;
      i = j;
    }
  }
  return challenges;
}

/** Digest algorithms (RFC 7616 section 3.3 and 6.1), strongest first, with their node:crypto hash. */
const DIGEST_ALGORITHMS: Record<string, string> = {
  'SHA-512-256': 'sha512-256',
  'SHA-512-256-SESS': 'sha512-256',
  'SHA-256': 'sha256',
  'SHA-256-SESS': 'sha256',
  MD5: 'md5',
  'MD5-SESS': 'md5',
};
const STRENGTH = Object.keys(DIGEST_ALGORITHMS);

function digestAlgorithm(c: Challenge): string {
  return (c.params.algorithm ?? 'MD5').toUpperCase();
}

function qopOptions(c: Challenge): string[] {
  return c.params.qop === undefined ? [] : c.params.qop.split(',').map((q) => q.trim().toLowerCase());
}

function usableDigest(c: Challenge): boolean {
  if (c.scheme !== 'digest' || c.params.nonce === undefined) return false;
  if (!Object.hasOwn(DIGEST_ALGORITHMS, digestAlgorithm(c))) return false;
  const qop = qopOptions(c);
  // qop=auth-int alone would need the body hashed into A2; nothing here asks for it.
  return qop.length === 0 || qop.includes('auth');
}

/** Digest if the server offers a usable one (the strongest algorithm), else Basic, else null. */
export function pickChallenge(challenges: readonly Challenge[]): Challenge | null {
  const digests = challenges.filter(usableDigest).sort((a, b) => STRENGTH.indexOf(digestAlgorithm(a)) - STRENGTH.indexOf(digestAlgorithm(b)));
  if (digests.length > 0) return digests[0];
  return challenges.find((c) => c.scheme === 'basic') ?? null;
}

/** A quoted-string (RFC 9110 section 5.6.4). */
function quote(value: string): string {
  return `"${value.replace(/["\\]/g, (c) => `\\${c}`)}"`;
}

/**
 * The Authorization header answering `challenge` for `method` on `uri` (the request-target,
 * path and query). `cnonce` is for tests; each call otherwise draws a fresh one.
 */
export function authorization(challenge: Challenge, credentials: Credentials, method: string, uri: string, cnonce = randomBytes(16).toString('hex')): string {
  if (challenge.scheme === 'basic') {
    // RFC 7617 section 2: base64 of user-id ":" password.
    return `Basic ${Buffer.from(`${credentials.user}:${credentials.password}`, 'utf8').toString('base64')}`;
  }
  const algorithm = digestAlgorithm(challenge);
  const hash = (text: string) => createHash(DIGEST_ALGORITHMS[algorithm]).update(text, 'utf8').digest('hex');
  const realm = challenge.params.realm ?? '';
  const nonce = challenge.params.nonce;
  const useQop = qopOptions(challenge).includes('auth');
  const nc = '00000001';
  // RFC 7616 section 3.4.2: for the -sess variants A1 also binds the nonce and cnonce.
  let ha1 = hash(`${credentials.user}:${realm}:${credentials.password}`);
  if (algorithm.endsWith('-SESS')) ha1 = hash(`${ha1}:${nonce}:${cnonce}`);
  const ha2 = hash(`${method}:${uri}`);
  // Section 3.4.1 with qop; RFC 2069 section 2.1.2 (no qop) for old servers.
  const response = useQop ? hash(`${ha1}:${nonce}:${nc}:${cnonce}:auth:${ha2}`) : hash(`${ha1}:${nonce}:${ha2}`);
  const parts = [
    `username=${quote(credentials.user)}`,
    `realm=${quote(realm)}`,
    `nonce=${quote(nonce)}`,
    `uri=${quote(uri)}`,
    `algorithm=${challenge.params.algorithm ?? 'MD5'}`,
    `response=${quote(response)}`,
  ];
  if (useQop) parts.push('qop=auth', `nc=${nc}`, `cnonce=${quote(cnonce)}`);
  if (challenge.params.opaque !== undefined) parts.push(`opaque=${quote(challenge.params.opaque)}`);
  return `Digest ${parts.join(', ')}`;
}
