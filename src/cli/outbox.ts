import { existsSync } from 'node:fs';
import { databasePath, openDatabase } from '../store/database.js';
import { hasOutbox, readOutboxStats, type StoredOutboxStats } from '../store/sqlite-outbox.js';
import { MESSAGE_CLASSES } from '../uplink/outbox.js';
import type { CliCommand } from './index.js';

function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

function formatAge(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${s % 60}s`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
  return `${Math.floor(s / 86_400)}d ${Math.floor((s % 86_400) / 3600)}h`;
}

function perClass(counts: Record<string, number>): string {
  return MESSAGE_CLASSES.map((c) => `${c} ${counts[c]}`).join(', ');
}

function format(file: string, stats: StoredOutboxStats, now: number): string {
  const dropped = MESSAGE_CLASSES.reduce((sum, c) => sum + stats.dropped[c], 0);
  const unreported = MESSAGE_CLASSES.reduce((sum, c) => sum + stats.unreported[c], 0);
  return [
    `outbox of ${file}`,
    `  depth      ${stats.depth} message${stats.depth === 1 ? '' : 's'}`,
    `  bytes      ${formatBytes(stats.bytes)} (${stats.bytes})`,
    `  oldest     ${stats.oldestAt === undefined ? '-' : `${new Date(stats.oldestAt).toISOString()} (${formatAge(now - stats.oldestAt)} ago)`}`,
    `  by class   ${perClass(stats.byClass)}`,
    `  dropped    ${dropped}${dropped ? ` (${perClass(stats.dropped)})` : ''}`,
    `  not yet announced by outbox_overflow: ${unreported}`,
    '',
  ].join('\n');
}

/** `gatehouse outbox --data-dir DIR`: the outbox figures straight from the database (read-only), gateway running or not. */
export const outbox: CliCommand = {
  async run(values) {
    const dataDir = (values['data-dir'] as string | undefined) ?? process.env.GATEHOUSE_DATA_DIR ?? './data';
    const file = databasePath(dataDir);
    if (!existsSync(file)) {
      process.stderr.write(`gatehouse outbox: no gatehouse database in ${dataDir} (expected ${file}); pass --data-dir\n`);
      return 2;
    }
    let db;
    try {
      db = openDatabase(dataDir, { readonly: true });
    } catch (err) {
      process.stderr.write(`gatehouse outbox: ${(err as Error).message}\n`);
      return 1;
    }
    try {
      if (!hasOutbox(db)) {
        process.stderr.write(`gatehouse outbox: ${file} has no outbox yet (it was last opened by a gatehouse without the uplink)\n`);
        return 0;
      }
      const stats = readOutboxStats(db);
      const now = Date.now();
      if (values.json) {
        const oldestAgeS = stats.oldestAt === undefined ? null : Math.round((now - stats.oldestAt) / 1000);
        process.stdout.write(JSON.stringify({ ...stats, oldest_age_s: oldestAgeS }) + '\n');
      } else {
        process.stdout.write(format(file, stats, now));
      }
      return 0;
    } catch (err) {
      process.stderr.write(`gatehouse outbox: cannot read ${file}: ${(err as Error).message}\n`);
      return 1;
    } finally {
      db.close();
    }
  },
};
