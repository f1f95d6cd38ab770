// Password hashes for broker users: scrypt$<N>$<r>$<p>$<salt base64>$<hash base64>.
import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';

const DEFAULT_N = 16384;
const DEFAULT_R = 8;
const DEFAULT_P = 1;
const SALT_BYTES = 16;
const KEY_BYTES = 32;

// Bounds that keep a hostile or mistyped config from making one login take minutes or
// gigabytes: scrypt needs about 128 * N * r * p bytes.
const MAX_N = 1 << 20;
const MAX_R = 32;
const MAX_P = 16;
const MAX_MEM = 256 * 1024 * 1024;
const MIN_SALT_BYTES = 8;
const MIN_KEY_BYTES = 16;
const MAX_KEY_BYTES = 128;

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
const DECIMAL = /^[1-9][0-9]{0,8}$/;

interface ParsedHash {
  N: number;
  r: number;
  p: number;
  salt: Buffer;
  hash: Buffer;
}

function scryptAsync(password: string, salt: Buffer, keylen: number, options: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(password, salt, keylen, options, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

function memoryFor(N: number, r: number, p: number): number {
  return 128 * N * r * p + 128 * r * 1024;
}

function parseHash(encoded: string): ParsedHash | null {
  if (typeof encoded !== 'string') return null;
  const parts = encoded.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return null;
  const [, nText, rText, pText, saltText, hashText] = parts;
  if (!DECIMAL.test(nText) || !DECIMAL.test(rText) || !DECIMAL.test(pText)) return null;
  if (!BASE64.test(saltText) || !BASE64.test(hashText)) return null;
  const N = Number(nText);
  const r = Number(rText);
  const p = Number(pText);
  // N must be a power of two greater than 1 (scrypt's own requirement).
  if (N < 2 || N > MAX_N || (N & (N - 1)) !== 0) return null;
  if (r > MAX_R || p > MAX_P || memoryFor(N, r, p) > MAX_MEM) return null;
  const salt = Buffer.from(saltText, 'base64');
  const hash = Buffer.from(hashText, 'base64');
  if (salt.length < MIN_SALT_BYTES || hash.length < MIN_KEY_BYTES || hash.length > MAX_KEY_BYTES) return null;
  return { N, r, p, salt, hash };
}

export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  const options = { N: DEFAULT_N, r: DEFAULT_R, p: DEFAULT_P, maxmem: MAX_MEM };
  const hash = await scryptAsync(password, salt, KEY_BYTES, options);
  return ['scrypt', DEFAULT_N, DEFAULT_R, DEFAULT_P, salt.toString('base64'), hash.toString('base64')].join('$');
}

/** True when `password` matches `encoded`; false for a wrong password or a malformed hash. Never throws. */
export async function verifyPassword(password: string, encoded: string): Promise<boolean> {
  const parsed = parseHash(encoded);
  if (parsed === null || typeof password !== 'string') return false;
  try {
    const { N, r, p, salt, hash } = parsed;
    const candidate = await scryptAsync(password, salt, hash.length, { N, r, p, maxmem: MAX_MEM });
    return timingSafeEqual(candidate, hash);
  } catch {
    return false;
  }
}

/** True when `s` is a hash that verifyPassword accepts, within the cost bounds above (for config validation). */
export function isPasswordHash(s: string): boolean {
  return parseHash(s) !== null;
}
