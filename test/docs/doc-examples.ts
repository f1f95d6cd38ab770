// What the documentation's shell examples are, and how they are run against a demo gateway.
//
// Every ```sh (or bash, shell, console) block of README.md and docs/*.md says what it is aimed at
// in its info string:
//   ```sh demo              pasted into a shell while `npm start` runs; the test runs it and wants exit 0
//   ```sh demo background   the same, but in another terminal: it is started, and once it has printed
//                           its first line (it subscribed: a retained message arrived) the next
//                           `demo` block runs; then it must end by itself (mosquitto_sub -C N)
//   ```sh demo background quiet
//                           a background block that prints nothing until it is done (its output goes
//                           to a file): the next block is run again until it has ended
//   ```sh pending           aimed at the demo, but needs a feature not merged yet: not run
//   ```sh setup             in this checkout, but not an example for the demo: npm ci, npm start,
//                           npm test, apt-get, tools that run until stopped; not run
//   ```sh site              for a real site or an installed service: not run
// A ```text expect block shows the output of the `demo` block before it; ```text expect background
// the output of that block's background block (see expected-output.ts for how they compare).
import { spawn, type ChildProcess } from 'node:child_process';
import type { CodeBlock } from './markdown.js';
import { where } from './markdown.js';

export const SHELL_LANGS = new Set(['sh', 'bash', 'shell', 'console']);
export const TARGETS = ['demo', 'pending', 'setup', 'site'] as const;
export type Target = (typeof TARGETS)[number];

export interface Background {
  block: CodeBlock;
  /** Prints nothing until done: the next block is repeated until it has ended. */
  quiet: boolean;
  expect?: CodeBlock;
}

/** A `demo` block to run, with the background block opened before it, and the outputs shown after. */
export interface Step {
  block: CodeBlock;
  background?: Background;
  expect?: CodeBlock;
}

export function isShell(block: CodeBlock): boolean {
  return SHELL_LANGS.has(block.lang);
}

/** The problems with how a page tags its blocks, and its demo steps in page order. */
export function planSteps(blocks: CodeBlock[]): { steps: Step[]; problems: string[] } {
  const steps: Step[] = [];
  const problems: string[] = [];
  let open: Background | undefined;
  let last: Step | undefined;
  for (const block of blocks) {
    if (isShell(block)) {
      const [target, ...rest] = block.tags;
      if (!(TARGETS as readonly string[]).includes(target)) {
        problems.push(`${where(block)}: a ${block.lang} block must say what it is aimed at: \`${block.lang} demo\`, \`${block.lang} pending\`, \`${block.lang} setup\` or \`${block.lang} site\` (got ${JSON.stringify(block.tags.join(' '))})`);
        continue;
      }
      const known = target === 'demo' ? ['background', 'quiet'] : [];
      const unknown = rest.filter((t) => !known.includes(t));
      if (unknown.length > 0) problems.push(`${where(block)}: unknown tag(s) ${unknown.join(', ')} for a ${target} block`);
      if (target !== 'demo') continue;
      if (rest.includes('quiet') && !rest.includes('background')) problems.push(`${where(block)}: \`quiet\` only goes with \`background\``);
      if (rest.includes('background')) {
        if (open) problems.push(`${where(block)}: a second background block before ${where(open.block)} had a demo block to wait for`);
        open = { block, quiet: rest.includes('quiet') };
        continue;
      }
      last = { block, background: open };
      open = undefined;
      steps.push(last);
      continue;
    }
    if (block.lang === 'text' && block.tags[0] === 'expect') {
      const ofBackground = block.tags[1] === 'background';
      if (block.tags.length > (ofBackground ? 2 : 1)) problems.push(`${where(block)}: an expect block takes only \`background\` after \`expect\``);
      if (!last) {
        problems.push(`${where(block)}: expected output, but no demo block before it`);
      } else if (ofBackground) {
        if (!last.background) problems.push(`${where(block)}: expected output of a background block, but ${where(last.block)} had none`);
        else if (last.background.expect) problems.push(`${where(block)}: a second expected output for ${where(last.background.block)}`);
        else last.background.expect = block;
      } else if (last.expect) {
        problems.push(`${where(block)}: a second expected output for ${where(last.block)}`);
      } else {
        last.expect = block;
      }
    }
  }
  if (open) problems.push(`${where(open.block)}: a background block with no demo block after it`);
  return { steps, problems };
}

/** A shell block's lines with backslash continuations joined, comments kept. */
export function commandLines(text: string): string[] {
  return text.replace(/\\\n\s*/g, ' ').split('\n');
}

export interface DemoAddress {
  brokerPort: number;
  metricsPort: number;
  dataDir: string;
  packageRoot: string;
}

/**
 * The block as it would run against `npm start` in this checkout, moved to the test's demo: the
 * test's demo has its own ports and data folder, and the block runs in a scratch folder, so
 * `npm run` is pointed at this package.
 */
export function retarget(text: string, demo: DemoAddress): string {
  return text
    .replace(/(-p\s+)1883\b/g, `$1${demo.brokerPort}`)
    .replace(/\b(127\.0\.0\.1|localhost):1883\b/g, `$1:${demo.brokerPort}`)
    .replace(/\b(127\.0\.0\.1|localhost):9464\b/g, `$1:${demo.metricsPort}`)
    .replace(/(^|[\s='"])\.\/data\/demo\b/g, `$1${demo.dataDir}`)
    .replace(/\bnpm run\b/g, `npm --prefix '${demo.packageRoot}' run`);
}

export interface ShellRun {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves with the exit code (null when killed by a signal). */
  exited: Promise<number | null>;
  /** Resolves once stdout has a complete line, or the process ended. */
  firstLine: Promise<void>;
  /** Kills the whole process group (the block's shell and what it started). */
  kill(): void;
}

/**
 * Runs `script` with bash (-e -o pipefail), in its own process group. Its stdout is line-buffered
 * the way a terminal makes it (stdbuf), so a background block's first line is seen when printed.
 */
export function runShell(script: string, opts: { cwd: string; env: NodeJS.ProcessEnv }): ShellRun {
  const child = spawn('stdbuf', ['-oL', 'bash', '-e', '-o', 'pipefail', '-c', script], { cwd: opts.cwd, env: opts.env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let out = '';
  let err = '';
  let lineSeen: () => void = () => {};
  const firstLine = new Promise<void>((resolve) => (lineSeen = resolve));
  child.stdout.on('data', (chunk: Buffer) => {
    out += chunk.toString();
    if (out.includes('\n')) lineSeen();
  });
  child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
  const exited = new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => {
      lineSeen();
      resolve(code);
    });
  });
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    exited,
    firstLine,
    kill: () => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    },
  };
}

/** Resolves true if `promise` settled within `ms`, false otherwise. */
export function within(promise: Promise<unknown>, ms: number): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => resolve(false), ms);
    promise.then(
      () => {
        clearTimeout(timer);
        resolve(true);
      },
      (err) => {
        clearTimeout(timer);
        reject(err);
      },
    );
  });
}
