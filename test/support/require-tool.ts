import { execFileSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

/** The Debian packages every peer-based test needs (see test/support/ensure-peers.sh). */
export const PEER_PACKAGES =
  'mosquitto mosquitto-clients socat openssl python3-pymodbus python3-serial python3-serial-asyncio';

/** Debian's pymodbus is only importable by the system interpreter, not a python3 earlier on PATH. */
export const SYSTEM_PYTHON = '/usr/bin/python3';

// sbin directories are often missing from a non-root PATH, yet mosquitto lives in /usr/sbin.
const EXTRA_DIRS = ['/usr/local/sbin', '/usr/sbin', '/sbin', '/usr/local/bin', '/usr/bin', '/bin'];

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * Absolute path of the executable `name`, or an Error naming the exact fix.
 * Tests call this so that a missing peer fails loudly instead of skipping.
 */
export function requireTool(name: string, aptPackage: string): string {
  const dirs = [...(process.env.PATH ?? '').split(delimiter).filter((d) => d !== ''), ...EXTRA_DIRS];
  for (const dir of dirs) {
    const candidate = join(dir, name);
    if (isExecutable(candidate)) return candidate;
  }
  throw new Error(
    `required tool "${name}" not found on PATH or in ${EXTRA_DIRS.join(':')}; ` +
      `install it with: apt-get install -y ${aptPackage}  (or run test/support/ensure-peers.sh)`,
  );
}

let pymodbusChecked = false;

/**
 * Throws unless /usr/bin/python3 can import pymodbus and pyserial (and serial_asyncio, which
 * pymodbus.server imports at load time).
 */
export function requirePymodbus(): void {
  if (pymodbusChecked) return;
  try {
    execFileSync(SYSTEM_PYTHON, ['-c', 'import pymodbus, serial, serial_asyncio'], {
      stdio: ['ignore', 'ignore', 'pipe'],
      timeout: 30_000,
    });
  } catch (err) {
    const stderr = (err as { stderr?: Buffer }).stderr?.toString().trim() ?? '';
    throw new Error(
      `${SYSTEM_PYTHON} cannot import pymodbus/serial/serial_asyncio` +
        `${stderr ? ` (${stderr.split('\n').pop()})` : ''}; ` +
        'install them with: apt-get install -y python3-pymodbus python3-serial python3-serial-asyncio',
    );
  }
  pymodbusChecked = true;
}
