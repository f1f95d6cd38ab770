// `type: onvif`: an ONVIF camera: where it is, how to log in, the limits.
import { readFileSync } from 'node:fs';
import type { ConfigIssue } from '../../driver-api.js';
import type { FieldSpecs } from '../../config/fields.js';
import { BACKOFF_KEY, backoffOptions, parseBackoff, parseTransportFields, type BackoffConfig } from '../config-pieces.js';
import { asTransport, type KeyDoc, type TransportDefinition } from '../definition.js';
import { OnvifCamera } from './camera.js';
import { withoutCredentials } from './uri-redact.js';

/** An ONVIF camera; a password_file is read into `password`. */
export type OnvifTransportConfig = {
  type: 'onvif';
  xaddr: string;
  user: string;
  password: string;
  timeout_ms: number;
  init_timeout_ms: number;
  max_body_bytes: number;
  max_image_bytes: number;
  backoff: BackoffConfig;
};

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

const KEYS: KeyDoc[] = [
  { key: 'xaddr', required: true, doc: "The camera's device service URL, http(s)://host[:port]/onvif/device_service, without credentials." },
  { key: 'user', default: '""', doc: 'ONVIF user (WS-Security UsernameToken; also HTTP Digest or Basic for snapshots).' },
  { key: 'password', doc: "The user's password; or password_file." },
  { key: 'password_file', doc: 'File holding the password on one line (keeps it out of the config).' },
  BACKOFF_KEY,
];

export const onvif: TransportDefinition<OnvifTransportConfig> = {
  type: 'onvif',
  summary: 'An ONVIF camera over HTTP(S): device, media and PTZ services, snapshots with Digest or Basic.',
  fields: ONVIF_FIELDS,
  keys: KEYS,
  parse: (entry, path, issues) => parseOnvifTransport(entry, path, issues),
  describe: (cfg) => withoutCredentials(cfg.xaddr, [cfg.password]),
  create: (name, cfg, log) =>
    asTransport(
      new OnvifCamera(
        name,
        {
          xaddr: cfg.xaddr,
          user: cfg.user,
          password: cfg.password,
          timeoutMs: cfg.timeout_ms,
          initTimeoutMs: cfg.init_timeout_ms,
          maxBodyBytes: cfg.max_body_bytes,
          maxImageBytes: cfg.max_image_bytes,
          backoff: backoffOptions(cfg),
        },
        log,
      ),
    ),
};

function parseOnvifTransport(entry: Record<string, unknown>, path: string, issues: ConfigIssue[]): OnvifTransportConfig {
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
  const values = parseTransportFields(rest, ONVIF_FIELDS, KEYS, path, issues);
  return {
    type: 'onvif',
    xaddr: xaddr as string,
    user: typeof user === 'string' ? user : '',
    password: secret ?? '',
    timeout_ms: values.timeout_ms as number,
    init_timeout_ms: values.init_timeout_ms as number,
    max_body_bytes: values.max_body_bytes as number,
    max_image_bytes: values.max_image_bytes as number,
    backoff: parseBackoff(backoff, path, issues),
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
