// The credentials shipped in config/demo.yaml and config/example-site.yaml: anyone can read them,
// so a site config that copied one is open to anyone. `gatehouse check` warns about each.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseConfigDocument } from '../config.js';
import { packageRoot } from '../paths.js';

export const SAMPLE_CONFIG_FILES = ['config/demo.yaml', 'config/example-site.yaml'];

/**
 * The demo's passwords: written next to their hashes in config/demo.yaml and printed by the demo's
 * banner. test/cli/sample-credentials.test.ts checks that they still match the demo's hashes.
 */
export const DEMO_PASSWORDS = ['guard-demo', 'display-demo', 'tech-demo'];

export interface SampleCredentials {
  /** password_hash of a shipped user → where it is shipped (e.g. `config/demo.yaml users[0] (guard)`). */
  hashes: Map<string, string>;
  /** Plain passwords anyone knows → where from: the demo's, and transport and uplink passwords of the shipped files. */
  passwords: Map<string, string>;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Credentials of one shipped config document, labelled with `file`. */
export function credentialsOf(document: unknown, file: string, into: SampleCredentials): void {
  if (!isRecord(document)) return;
  const users = Array.isArray(document.users) ? document.users : [];
  users.forEach((user, i) => {
    if (isRecord(user) && typeof user.password_hash === 'string') into.hashes.set(user.password_hash, `${file} users[${i}]${typeof user.username === 'string' ? ` (${user.username})` : ''}`);
  });
  for (const [name, transport] of Object.entries(isRecord(document.transports) ? document.transports : {})) {
    if (isRecord(transport) && typeof transport.password === 'string' && transport.password !== '') into.passwords.set(transport.password, `${file} transports.${name}.password`);
  }
  const uplink = isRecord(document.uplink) ? document.uplink : {};
  if (typeof uplink.password === 'string' && uplink.password !== '') into.passwords.set(uplink.password, `${file} uplink.password`);
}

/** Reads the shipped sample configs; one that cannot be read is skipped (an installation without config/). */
export function loadSampleCredentials(root: string = packageRoot()): SampleCredentials {
  const samples: SampleCredentials = { hashes: new Map(), passwords: new Map() };
  for (const password of DEMO_PASSWORDS) samples.passwords.set(password, 'config/demo.yaml (printed by `gatehouse demo`)');
  for (const file of SAMPLE_CONFIG_FILES) {
    try {
      credentialsOf(parseConfigDocument(readFileSync(join(root, file), 'utf8'), file), file, samples);
    } catch {
      // Not shipped with this installation: nothing to compare with.
    }
  }
  return samples;
}
