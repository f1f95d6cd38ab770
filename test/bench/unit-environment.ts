// The service unit's settings that change memory (its NODE_OPTIONS V8 flags and MALLOC_* glibc
// settings), read from systemd/gatehouse.service, so a benchmark can run the gateway as the
// service runs it.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const UNIT_FILE = join(fileURLToPath(new URL('../../', import.meta.url)), 'systemd', 'gatehouse.service');

/** The unit's Environment= settings that change memory (NODE_OPTIONS, MALLOC_*), as an environment. */
export function unitMemoryEnvironment(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of readFileSync(UNIT_FILE, 'utf8').split('\n')) {
    const m = /^Environment="?((?:NODE_OPTIONS|MALLOC_\w+)=[^"]*)"?$/.exec(line.trim());
    if (!m) continue;
    const eq = m[1]!.indexOf('=');
    env[m[1]!.slice(0, eq)] = m[1]!.slice(eq + 1);
  }
  if (env.NODE_OPTIONS === undefined) throw new Error(`no NODE_OPTIONS in ${UNIT_FILE}`);
  return env;
}
