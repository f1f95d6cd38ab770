import type { JournalRecord } from '../commands/journal.js';

// One line per journal entry, for people; `--json` prints the stored record instead.

function who(r: JournalRecord): string {
  return [r.source, r.username ?? (r.client_id ? `client ${r.client_id}` : undefined), r.peer].filter(Boolean).join(' ');
}

export function formatRecord(r: JournalRecord): string {
  const when = new Date(r.at).toISOString();
  const target = `${r.kind}/${r.device}`.padEnd(24);
  if (r.type === 'event') return `${when}  ${target} ${(r.event ?? '').padEnd(16)} ${r.payload ?? ''}`.trimEnd();
  if (r.type === 'commissioning') {
    const outcome = r.status === 'ok' ? 'ok' : `error ${r.code}`;
    return `${when}  ${`${r.kind ?? '-'}/${r.device}`.padEnd(24)} ${`commissioning ${r.command ?? ''}`.padEnd(19)} ${outcome.padEnd(20)} ${[who(r), r.payload, r.status === 'ok' ? undefined : r.message].filter(Boolean).join('  ')}`;
  }
  if (r.type !== 'command') return `${when}  ${r.type.padEnd(16)} ${who(r)}  ${r.payload ?? ''}  ${r.message ?? ''}`;
  const outcome = r.status === 'ok' ? 'ok' : `error ${r.code}`;
  return `${when}  ${target} ${(r.command ?? '').padEnd(8)} ${outcome.padEnd(20)} ${String(r.latency_ms ?? '').padStart(5)} ms  id=${r.command_id}${r.duplicate ? ' (duplicate)' : ''}  ${who(r)}${r.status === 'ok' ? '' : `  ${r.message}`}`;
}
