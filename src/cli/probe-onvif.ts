// `gatehouse probe onvif URL`: a camera's facts for a technician, or one JSON document (--json).
// The password comes from --password or, kept out of the shell history, $GATEHOUSE_ONVIF_PASSWORD.
// Exit 0 when the camera answered, 1 when it could not be set up, 2 for a mistake on the command line.
import { OnvifProbeError, onvifTarget, probeOnvifCamera, type OnvifProbeReport } from '../commissioning/onvif-probe.js';

type Values = Record<string, string | boolean | string[] | undefined>;

export const ONVIF_TIMEOUT_MS = 5000;
export const PASSWORD_ENV = 'GATEHOUSE_ONVIF_PASSWORD';
const MODBUS_OPTIONS = ['unit', 'read', 'write', 'yes', 'scan'];

function fail(message: string): number {
  process.stderr.write(`gatehouse probe: ${message}\n`);
  return 2;
}

export async function probeOnvif(address: string, values: Values): Promise<number> {
  const problems = MODBUS_OPTIONS.filter((o) => values[o] !== undefined).map((o) => `--${o} is for probe modbus`);
  const timeoutText = values.timeout === undefined ? String(ONVIF_TIMEOUT_MS) : String(values.timeout);
  const timeoutMs = /^\d+$/.test(timeoutText) ? Number(timeoutText) : NaN;
  if (Number.isNaN(timeoutMs)) problems.push(`--timeout ${timeoutText}: expected milliseconds`);
  const fromEnv = values.password === undefined && process.env[PASSWORD_ENV] !== undefined;
  const password = typeof values.password === 'string' ? values.password : (process.env[PASSWORD_ENV] ?? '');
  const user = typeof values.user === 'string' ? values.user : '';
  if (user === '' && password !== '') problems.push(`a password${fromEnv ? ` (from $${PASSWORD_ENV})` : ''} needs --user`);
  if (problems.length > 0) return fail(problems.join('\n'));
  const parsed = onvifTarget({ xaddr: address, user, password, timeoutMs });
  if (parsed.target === undefined) return fail(parsed.problems.join('\n'));
  let report: OnvifProbeReport;
  try {
    report = await probeOnvifCamera(parsed.target);
  } catch (err) {
    if (!(err instanceof OnvifProbeError)) throw err;
    process.stderr.write(`gatehouse probe: ${err.message}\n`);
    return 1;
  }
  if (fromEnv && values.json !== true) process.stderr.write(`gatehouse probe: password from $${PASSWORD_ENV}\n`);
  process.stdout.write(values.json === true ? `${JSON.stringify(report, null, 2)}\n` : formatOnvifReport(report));
  return 0;
}

export function formatOnvifReport(r: OnvifProbeReport): string {
  const d = r.device;
  const lines = [
    `onvif ${r.xaddr}`,
    `device    ${[d.manufacturer, d.model].filter(Boolean).join(' ') || '(not given)'}, firmware ${d.firmware || '-'}, serial ${d.serialNumber || '-'}, hardware ${d.hardwareId || '-'}`,
    `clock     camera ${r.clockOffsetMs >= 0 ? '+' : ''}${r.clockOffsetMs} ms from ours`,
    `ptz       ${r.ptz ? `yes (profiles ${r.profiles.filter((p) => p.ptz).map((p) => p.token).join(', ')})` : 'no'}`,
    `profiles  ${r.profiles.length}`,
  ];
  for (const p of r.profiles) {
    lines.push(`  ${p.token} "${p.name}"${p.ptz ? ' (ptz)' : ''}`);
    lines.push(`    stream    ${p.streamUri || '(none)'}`);
    lines.push(`    snapshot  ${p.snapshotUri || '(none)'}`);
    if (p.presets !== undefined) lines.push(`    presets   ${p.presets.length === 0 ? '(none)' : p.presets.map((x) => `${x.token} "${x.name}"`).join(', ')}`);
    if (p.presetsError !== undefined) lines.push(`    presets   could not be read: ${p.presetsError}`);
  }
  const e = r.events;
  if (e.service === 'present') {
    lines.push(`events    ${e.topics.length} topic${e.topics.length === 1 ? '' : 's'} at ${e.xaddr}`);
    for (const t of e.topics) {
      const items = [t.source.length > 0 ? `source ${t.source.join(', ')}` : '', t.data.length > 0 ? `data ${t.data.join(', ')}` : ''].filter(Boolean).join('; ');
      lines.push(`  ${t.topic}${items ? ` (${items})` : ''}`);
    }
  } else if (e.service === 'absent') {
    lines.push(`events    none: ${e.reason}`);
  } else {
    lines.push(`events    could not be read: ${e.reason}`);
  }
  return `${lines.join('\n')}\n`;
}
