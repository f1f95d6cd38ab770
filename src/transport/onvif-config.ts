// The `onvif` transport's configuration: where the camera is, how to log in, the limits.
import { readFileSync } from 'node:fs';
import type { ConfigIssue } from '../driver-api.js';
import { parseFields, type FieldSpecs } from '../devices/fields.js';
import type { OnvifTransportConfig } from './registry.js';

export const ONVIF_FIELDS: FieldSpecs = {
  timeout_ms: { type: 'int', min: 100, max: 60_000, default: 5000 },
  init_timeout_ms: { type: 'int', min: 1000, max: 300_000, default: 30_000 },
  max_body_bytes: { type: 'int', min: 4096, max: 16 * 1024 * 1024, default: 1024 * 1024 },
  max_image_bytes: { type: 'int', min: 4096, max: 64 * 1024 * 1024, default: 8 * 1024 * 1024 },
};

/**
 * node-onvif refuses user names and passwords outside printable ASCII or with `<` or `>`, and puts
 * the user name into the XML unescaped; HTTP Basic (RFC 7617 section 2) forbids `:` in a user-id.
 */
const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;

function checkSecretText(value: string, key: string, issues: ConfigIssue[], forbidden: RegExp, what: string): void {
  if (!PRINTABLE_ASCII.test(value) || forbidden.test(value)) {
    issues.push({ path: key, message: `must be printable ASCII without ${what} (a limit of the ONVIF library)` });
  }
}

export function validateOnvifTransport(
  entry: Record<string, unknown>,
  path: string,
  issues: ConfigIssue[],
  validateBackoff: (backoff: unknown, path: string, issues: ConfigIssue[]) => { initial_ms: number; max_ms: number },
): OnvifTransportConfig {
  const { type: _type, xaddr, user = '', password, password_file: passwordFile, backoff = {}, ...rest } = entry;
  if (typeof xaddr !== 'string' || !validXaddr(xaddr)) {
    issues.push({ path: `${path}.xaddr`, message: `must be the camera's device service URL, http(s)://host[:port]/onvif/device_service, without credentials; got ${JSON.stringify(xaddr)}` });
  }
  if (typeof user !== 'string') issues.push({ path: `${path}.user`, message: 'must be a string' });
  else checkSecretText(user, `${path}.user`, issues, /[<>&:]/, '<, >, & or :');
  const secret = readPassword(password, passwordFile, path, issues);
  if (typeof user === 'string' && user !== '' && password === undefined && passwordFile === undefined) {
    issues.push({ path: `${path}.password`, message: 'required with a user: give password or password_file' });
  }
  if (typeof user === 'string' && user === '' && (password !== undefined || passwordFile !== undefined)) {
    issues.push({ path: `${path}.user`, message: 'required when a password is given' });
  }
  const fields = parseFields(rest, ONVIF_FIELDS);
  for (const p of fields.problems) issues.push({ path: `${path}.${p.key}`, message: p.message });
  return {
    type: 'onvif',
    xaddr: xaddr as string,
    user: typeof user === 'string' ? user : '',
    password: secret ?? '',
    timeout_ms: fields.values.timeout_ms as number,
    init_timeout_ms: fields.values.init_timeout_ms as number,
    max_body_bytes: fields.values.max_body_bytes as number,
    max_image_bytes: fields.values.max_image_bytes as number,
    backoff: validateBackoff(backoff, path, issues),
  };
}

function validXaddr(value: string): boolean {
  try {
    const url = new URL(value);
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.hostname !== '' && url.username === '' && url.password === '';
  } catch {
    return false;
  }
}

/** The password, from `password` or the first line of `password_file` (so it stays out of the config file). */
function readPassword(password: unknown, passwordFile: unknown, path: string, issues: ConfigIssue[]): string | undefined {
  if (password !== undefined && passwordFile !== undefined) {
    issues.push({ path: `${path}.password_file`, message: 'give password or password_file, not both' });
    return undefined;
  }
  if (password !== undefined) {
    if (typeof password !== 'string') {
      issues.push({ path: `${path}.password`, message: 'must be a string' });
      return undefined;
    }
    checkSecretText(password, `${path}.password`, issues, /[<>]/, '< or >');
    return password;
  }
  if (passwordFile === undefined) return undefined;
  if (typeof passwordFile !== 'string' || passwordFile === '') {
    issues.push({ path: `${path}.password_file`, message: 'must be the path of a file holding the password' });
    return undefined;
  }
  let text: string;
  try {
    text = readFileSync(passwordFile, 'utf8');
  } catch (err) {
    issues.push({ path: `${path}.password_file`, message: `cannot read ${passwordFile}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` });
    return undefined;
  }
  const secret = text.replace(/\r?\n$/, '');
  if (secret === '' || secret.includes('\n')) {
    issues.push({ path: `${path}.password_file`, message: `${passwordFile} must hold the password on one line` });
    return undefined;
  }
  // The path is named, never the content.
  if (!PRINTABLE_ASCII.test(secret) || /[<>]/.test(secret)) {
    issues.push({ path: `${path}.password_file`, message: `the password in ${passwordFile} must be printable ASCII without < or > (a limit of the ONVIF library)` });
  }
  return secret;
}
