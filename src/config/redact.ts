// The running config as it may be shown (the console's config view, the gateway's `config`
// command): every secret replaced by REDACTED, whatever section or device it sits in. Pure: the
// config given is not changed.

export const REDACTED = '[redacted]';

/** Keys whose value is a secret wherever they appear (users, uplink, transports, device options). */
const SECRET_KEYS = /^(password|passwd|pwd|pass|password_hash|secret|token|api_key|apikey|private_key|key|psk|auth|authorization|credentials)$/i;
/** Keys whose value is a URL that may carry user:password@ or credential query parameters. */
const CREDENTIAL_QUERY = /^(user|username|usr|login|pass|password|passwd|pwd|psw|auth|token|key)$/i;

function redactUrl(text: string): string {
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) return text;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return text.replace(/\/\/[^/@]*@/, `//${REDACTED}@`);
  }
  let changed = false;
  if (url.username || url.password) {
    url.username = '';
    url.password = '';
    changed = true;
  }
  for (const name of [...url.searchParams.keys()]) {
    if (CREDENTIAL_QUERY.test(name)) {
      url.searchParams.set(name, REDACTED);
      changed = true;
    }
  }
  if (!changed) return text;
  const credentials = text.slice(text.indexOf('//') + 2).split('/')[0].includes('@') ? `${REDACTED}@` : '';
  return url.toString().replace('//', `//${credentials}`);
}

function redactValue(key: string | undefined, value: unknown): unknown {
  if (key !== undefined && SECRET_KEYS.test(key)) {
    // An empty secret is shown as empty: that nothing is set is not itself a secret.
    if (value === '' || value === null || value === undefined) return value;
    return REDACTED;
  }
  if (typeof value === 'string') return redactUrl(value);
  if (Array.isArray(value)) return value.map((item) => redactValue(undefined, item));
  if (Buffer.isBuffer(value)) return REDACTED;
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = redactValue(k, v);
    return out;
  }
  return value;
}

/**
 * A deep copy of `config` with passwords, password hashes, keys, tokens and credentials in URLs
 * replaced by REDACTED. Paths to secret files (password_file) stay readable; a path under a key
 * named `key` (broker.tls.key) is redacted with the rest, which costs the reader little.
 */
export function redactConfig<T>(config: T): T {
  return redactValue(undefined, config) as T;
}
