// Self time in a V8 .cpuprofile (from `node --cpu-prof`, e.g. run.ts --node-arg --cpu-prof
// --node-arg --cpu-prof-dir=DIR): the top functions and the top files (a package for node_modules,
// node's own internals as one), in ms and as a share of the non-idle time.
//
// usage: node --import tsx test/bench/cpu-profile-top.ts FILE.cpuprofile [--top N] [--per N]
// --per N divides the ms by N (e.g. the commands the profile covers) to print ms per command.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}

interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const { values: opts, positionals } = parseArgs({
  options: { top: { type: 'string', default: '30' }, per: { type: 'string' } },
  allowPositionals: true,
});
if (positionals.length !== 1) throw new Error('usage: cpu-profile-top.ts FILE.cpuprofile [--top N] [--per N]');
const profile = JSON.parse(readFileSync(positionals[0], 'utf8')) as Profile;
const top = Number(opts.top);
const per = opts.per === undefined ? undefined : Number(opts.per);

const IDLE = new Set(['(idle)', '(program)', '(garbage collector)']);
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const selfUs = new Map<number, number>();
// Each sample's time is the delta to the next one (V8's convention: timeDeltas[i] precedes samples[i]).
for (let i = 0; i < profile.samples.length; i++) {
  const delta = profile.timeDeltas[i + 1] ?? 0;
  selfUs.set(profile.samples[i], (selfUs.get(profile.samples[i]) ?? 0) + delta);
}

function fileOf(url: string): string {
  if (!url) return '(native / V8)';
  if (url.startsWith('node:')) return 'node: internals';
  const nm = url.lastIndexOf('/node_modules/');
  if (nm >= 0) {
    const rest = url.slice(nm + '/node_modules/'.length).split('/');
    return `npm ${rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]}`;
  }
  const src = url.indexOf('/dist/');
  return src >= 0 ? url.slice(src + '/dist/'.length) : url.replace(/^file:\/\//, '');
}

const fns = new Map<string, number>();
const files = new Map<string, number>();
let total = 0;
let busy = 0;
for (const [id, us] of selfUs) {
  const node = byId.get(id)!;
  const name = node.callFrame.functionName || '(anonymous)';
  total += us;
  if (IDLE.has(name)) {
    fns.set(name, (fns.get(name) ?? 0) + us);
    continue;
  }
  busy += us;
  const file = fileOf(node.callFrame.url);
  const key = `${name}  ${file}:${node.callFrame.lineNumber + 1}`;
  fns.set(key, (fns.get(key) ?? 0) + us);
  files.set(file, (files.get(file) ?? 0) + us);
}

const gc = fns.get('(garbage collector)') ?? 0;
const fmt = (us: number) =>
  `${(us / 1000).toFixed(1).padStart(8)} ms ${((100 * us) / busy).toFixed(1).padStart(5)}%` + (per ? ` ${(us / 1000 / per).toFixed(4).padStart(8)} ms/cmd` : '');
const print = (title: string, m: Map<string, number>) => {
  process.stdout.write(`\n${title}\n`);
  for (const [k, us] of [...m].filter(([k]) => !IDLE.has(k)).sort((a, b) => b[1] - a[1]).slice(0, top)) process.stdout.write(`${fmt(us)}  ${k}\n`);
};
process.stdout.write(
  `profile ${positionals[0]}: ${(total / 1000).toFixed(0)} ms sampled, ${(busy / 1000).toFixed(0)} ms in JavaScript and native code` +
    ` (shares below are of this), garbage collector ${(gc / 1000).toFixed(0)} ms` +
    (per ? `; per command: ${(busy / 1000 / per).toFixed(3)} ms busy, ${((busy + gc) / 1000 / per).toFixed(3)} ms with GC` : '') +
    '\n',
);
print(`top ${top} files and packages by self time`, files);
print(`top ${top} functions by self time`, fns);
