// Where a reading command (journal) finds the gateway's database: the way `run` would, by
// --data-dir, then GATEHOUSE_DATA_DIR, then the config's data_dir (default ./data, relative to the
// current directory). Without any of them it also looks where an installed service (systemd/) and
// the demo (`npm start`) keep theirs; when nothing is found, the answer lists every path it tried.
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { databasePath } from '../store/database.js';
import { packageRoot } from '../paths.js';

/** The config systemd/install.sh installs and the unit runs with. */
export const SERVICE_CONFIG_FILE = '/etc/gatehouse/gatehouse.yaml';
/** The default of `data_dir` (src/config.ts). */
export const DEFAULT_DATA_DIR = './data';

export interface Lookup {
  /** The path looked at: a database file, or a config file that could not be read. */
  path: string;
  /** Where the path came from, e.g. `--data-dir` or `data_dir of site.yaml`. */
  from: string;
  /** Why it was not used; absent for the one found. */
  problem?: string;
}

export type DatabaseSearch =
  | { ok: true; dataDir: string; file: string; from: string; tried: Lookup[] }
  | { ok: false; tried: Lookup[]; problem?: string };

export interface SearchOptions {
  dataDir?: string;
  config?: string;
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** Overridable for tests; SERVICE_CONFIG_FILE by default. */
  serviceConfig?: string;
}

interface Candidate {
  dataDir: string;
  from: string;
}

/** A place that could not even be looked at (a config file that cannot be read). */
type Step = Candidate | Lookup;

export async function findDatabase(opts: SearchOptions): Promise<DatabaseSearch> {
  let steps: Step[];
  if (opts.config !== undefined) {
    const fromConfig = await dataDirOfConfig(opts);
    if ('problem' in fromConfig) return { ok: false, tried: [], problem: fromConfig.problem };
    steps = [fromConfig];
  } else if (opts.dataDir !== undefined) {
    steps = [{ dataDir: opts.dataDir, from: '--data-dir' }];
  } else if (opts.env.GATEHOUSE_DATA_DIR) {
    steps = [{ dataDir: opts.env.GATEHOUSE_DATA_DIR, from: 'GATEHOUSE_DATA_DIR' }];
  } else {
    const service = opts.serviceConfig ?? SERVICE_CONFIG_FILE;
    const installed = await dataDirInFile(service);
    const demo = await dataDirInFile(join(packageRoot(), 'config', 'demo.yaml'));
    steps = [
      { dataDir: DEFAULT_DATA_DIR, from: `the default data_dir ${DEFAULT_DATA_DIR}, in the current directory` },
      'dataDir' in installed
        ? { dataDir: installed.dataDir, from: `data_dir of ${service}, the installed service's config` }
        : { path: service, from: "the installed service's config", problem: installed.problem },
      ...('dataDir' in demo ? [{ dataDir: demo.dataDir, from: "the demo's data_dir (npm start), in the current directory" }] : []),
    ];
  }
  const tried: Lookup[] = [];
  for (const step of steps) {
    if ('path' in step) {
      tried.push(step);
      continue;
    }
    const file = resolve(opts.cwd, databasePath(step.dataDir));
    if (tried.some((t) => t.path === file)) continue;
    if (existsSync(file)) return { ok: true, dataDir: resolve(opts.cwd, step.dataDir), file, from: step.from, tried };
    tried.push({ path: file, from: step.from, problem: 'no such file' });
  }
  return { ok: false, tried };
}

/** The message for a failed search: each path tried, and what to do. */
export function describeFailedSearch(search: Extract<DatabaseSearch, { ok: false }>): string {
  if (search.problem) return search.problem;
  const width = Math.max(...search.tried.map((t) => t.path.length));
  const lines = search.tried.map((t) => `  ${t.path.padEnd(width)}  ${t.from}: ${t.problem}`);
  return `no gatehouse database found; tried:\n${lines.join('\n')}\npass --data-dir DIR or --config FILE, or set GATEHOUSE_DATA_DIR`;
}

/** data_dir as `run --config FILE` would use it: the config validated, GATEHOUSE_DATA_DIR and --data-dir winning over the file. */
async function dataDirOfConfig(opts: SearchOptions): Promise<Candidate | { problem: string }> {
  const file = opts.config!;
  // Loaded only here: the config module pulls in every driver.
  const { formatIssues, loadConfig } = await import('../config.js');
  const loaded = loadConfig({ file, env: opts.env, overrides: { data_dir: opts.dataDir } });
  if (!loaded.ok) return { problem: `${file}: ${loaded.issues.length} problem${loaded.issues.length === 1 ? '' : 's'}:\n${formatIssues(loaded.issues)}` };
  const from = opts.dataDir !== undefined ? '--data-dir' : opts.env.GATEHOUSE_DATA_DIR ? 'GATEHOUSE_DATA_DIR' : `data_dir of ${file}`;
  return { dataDir: loaded.config.data_dir, from };
}

/** The data_dir a config file names (DEFAULT_DATA_DIR when it names none), without validating the rest. */
async function dataDirInFile(file: string): Promise<{ dataDir: string } | { problem: string }> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return { problem: code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'not readable by this user (try sudo -u gatehouse)' : (err as Error).message };
  }
  const { parse } = await import('yaml');
  try {
    const data_dir = (parse(text) as { data_dir?: unknown } | null)?.data_dir;
    return { dataDir: typeof data_dir === 'string' && data_dir !== '' ? data_dir : DEFAULT_DATA_DIR };
  } catch (err) {
    return { problem: `not valid YAML: ${(err as Error).message.split('\n')[0]}` };
  }
}
