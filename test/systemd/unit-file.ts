// Reading systemd/gatehouse.service in the tests, and rendering it the way install.sh installs it.
import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const PACKAGE_ROOT = dirname(dirname(dirname(fileURLToPath(import.meta.url))));
export const UNIT_FILE = join(PACKAGE_ROOT, 'systemd', 'gatehouse.service');

/** section -> key -> every value given, in order (systemd keys may repeat). */
export type UnitSections = Record<string, Record<string, string[]>>;

/** The subset of systemd.syntax(7) the unit uses: [Section], Key=Value, # and ; comments. */
export function parseUnit(text: string): UnitSections {
  const sections: UnitSections = {};
  let current: Record<string, string[]> | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const header = /^\[(.+)\]$/.exec(line);
    if (header) {
      current = sections[header[1]] ??= {};
      continue;
    }
    const eq = line.indexOf('=');
    if (!current || eq < 1) throw new Error(`not a unit file line: ${raw}`);
    const key = line.slice(0, eq).trim();
    (current[key] ??= []).push(line.slice(eq + 1).trim());
  }
  return sections;
}

/** systemd/render-unit.sh NODE PREFIX: the unit exactly as install.sh writes it. */
export function renderUnit(node: string, prefix: string): string {
  return execFileSync('bash', [join(PACKAGE_ROOT, 'systemd', 'render-unit.sh'), node, prefix], { encoding: 'utf8', timeout: 60_000 });
}
