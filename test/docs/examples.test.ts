// The documentation's shell examples work as shown. Every ```sh demo block of README.md and
// docs/*.md runs against a demo gateway (what `npm start` starts), one fresh demo per page, in page
// order, and must exit 0; where the page shows the output (```text expect), the output must match.
// Blocks for a real site, for preparing the checkout, or waiting for a feature are not run, but
// every `gatehouse <command>` they show must be a command the CLI has. How blocks are tagged:
// test/docs/doc-examples.ts.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { commands } from '../../src/cli/index.js';
import { PACKAGE_ROOT, cliEnv } from '../support/cli-process.js';
import { requireTool } from '../support/require-tool.js';
import { blockInvocations, GLOBAL_WORDS, inlineInvocations } from './command-names.js';
import { startDemo, type DemoSession } from './demo-session.js';
import { commandLines, isShell, planSteps, retarget, runShell, within, type ShellRun, type Step } from './doc-examples.js';
import { unmatchedLines } from './expected-output.js';
import { documentationPages, pageBlocks, readPage, where, type CodeBlock } from './markdown.js';

/** Longest a block may take before the test calls it hung (mosquitto_sub without its message, ...). */
const BLOCK_TIMEOUT_MS = 60_000;
/** How long a quiet background block gets to end before the block it waits for is run again. */
const QUIET_RETRY_MS = 3_000;
const STEP = { timeout: 3 * BLOCK_TIMEOUT_MS };

const pages = documentationPages();
const blocksOf = new Map(pages.map((page) => [page, pageBlocks(page)]));
const plans = new Map(pages.map((page) => [page, planSteps(blocksOf.get(page)!)]));
const allBlocks = [...blocksOf.values()].flat();
const shellBlocks = allBlocks.filter(isShell);

function report(run: ShellRun, code: number | null): string {
  return `exit ${code}\n--- stdout\n${run.stdout().slice(-4000)}\n--- stderr\n${run.stderr().slice(-4000)}`;
}

function assertOutput(expect: CodeBlock | undefined, run: ShellRun, of: CodeBlock): void {
  if (!expect) return;
  const missing = unmatchedLines(expect.text, run.stdout());
  assert.deepEqual(missing, [], `${where(of)}: output lacks the line(s) ${where(expect)} shows:\n  ${missing.join('\n  ')}\n--- stdout\n${run.stdout().slice(-6000)}`);
}

describe('documentation: how the shell examples are tagged', () => {
  it('README.md and docs/ have pages with demo examples', () => {
    assert.ok(pages.includes('README.md') && pages.length > 1, `pages: ${pages.join(', ')}`);
    const steps = [...plans.values()].reduce((n, p) => n + p.steps.length, 0);
    assert.ok(steps > 0, 'no ```sh demo blocks found');
  });

  it('every shell block says what it is aimed at, and expected outputs belong to a demo block', () => {
    const problems = [...plans.values()].flatMap((p) => p.problems);
    assert.deepEqual(problems, []);
  });

  it('demo blocks reach the demo the way `npm start` runs it, and end by themselves', () => {
    const problems: string[] = [];
    for (const block of shellBlocks.filter((b) => b.tags[0] === 'demo' || b.tags[0] === 'pending')) {
      for (const line of commandLines(block.text)) {
        const code = line.replace(/(^|\s)#.*$/, '');
        for (const client of code.matchAll(/\bmosquitto_(pub|sub)\b[^|;&]*/g)) {
          if (!/\s-p\s+1883\b/.test(client[0])) problems.push(`${where(block)}: ${client[0].trim()}: name the demo's port, -p 1883 (the test moves it to its own demo)`);
          if (client[1] === 'sub' && !/\s-C\s+\d+/.test(client[0])) problems.push(`${where(block)}: ${client[0].trim()}: mosquitto_sub needs -C N to end by itself`);
        }
        if (/(^|[\s;&|(])gatehouse\s/.test(code.replace(/npm run gatehouse --/g, ''))) {
          problems.push(`${where(block)}: ${code.trim()}: a checkout has no gatehouse on the PATH; use npm run gatehouse -- ...`);
        }
      }
    }
    assert.deepEqual(problems, []);
  });

  it('every `gatehouse <command>` on the pages is a command of src/cli/index.ts', () => {
    const known = Object.keys(commands);
    const invocations = [
      ...allBlocks.flatMap((b) => blockInvocations(b, isShell(b))),
      ...pages.flatMap((page) => inlineInvocations(page, readPage(page))),
    ];
    assert.ok(invocations.length > 20, `only ${invocations.length} gatehouse invocations found; is the scan broken?`);
    const unknown = invocations.filter((i) => !known.includes(i.word) && !GLOBAL_WORDS.includes(i.word));
    assert.deepEqual(unknown.map((i) => `${i.where}: ${i.text} (no command ${JSON.stringify(i.word)}; known: ${known.join(', ')})`), []);
  });

  it('setup blocks run npm scripts that package.json has', () => {
    const scripts = Object.keys((JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts);
    const problems: string[] = [];
    for (const block of shellBlocks) {
      for (const line of commandLines(block.text)) {
        for (const m of line.replace(/#.*$/, '').matchAll(/\bnpm (?:run(?:-script)?\s+([\w:-]+)|(start|test|restart|stop))\b/g)) {
          const script = m[1] ?? m[2];
          if (!scripts.includes(script)) problems.push(`${where(block)}: npm ${m[1] ? 'run ' : ''}${script}: package.json has no script ${script}`);
        }
      }
    }
    assert.deepEqual(problems, []);
  });
});

for (const page of pages) {
  const { steps } = plans.get(page)!;
  if (steps.length === 0) continue;

  describe(`documentation: the demo examples of ${page}`, () => {
    let demo: DemoSession;
    let cwd: string;
    let env: NodeJS.ProcessEnv;
    const running = new Set<ShellRun>();

    before(async () => {
      const toolDir = dirname(requireTool('mosquitto_sub', 'mosquitto-clients'));
      requireTool('mosquitto_pub', 'mosquitto-clients');
      demo = await startDemo();
      cwd = mkdtempSync(join(tmpdir(), 'gatehouse-docs-cwd-'));
      // `gatehouse status` without --url reads 127.0.0.1:9464, the demo's metrics port; this demo's
      // port is another, and the variable is how the command learns it (as a reader's would be).
      // Likewise `journal --config config/demo.yaml` reads the config's data_dir, ./data/demo in
      // the checkout, where a reader's demo keeps its data; this demo keeps it elsewhere, and
      // GATEHOUSE_DATA_DIR wins over the file, as it does for `run`.
      env = cliEnv({
        PATH: `${toolDir}${delimiter}${process.env.PATH ?? ''}`,
        GATEHOUSE_METRICS_PORT: String(demo.metricsPort),
        GATEHOUSE_DATA_DIR: demo.dataDir,
        npm_config_update_notifier: 'false',
      });
    });

    after(async () => {
      for (const run of running) run.kill();
      await demo?.stop();
      if (cwd) rmSync(cwd, { recursive: true, force: true });
    });

    const start = (block: CodeBlock): ShellRun => {
      const run = runShell(retarget(block.text, { ...demo, packageRoot: PACKAGE_ROOT }), { cwd, env });
      running.add(run);
      void run.exited.finally(() => running.delete(run));
      return run;
    };

    const finish = async (run: ShellRun, block: CodeBlock, what: string): Promise<void> => {
      if (!(await within(run.exited, BLOCK_TIMEOUT_MS))) {
        run.kill();
        assert.fail(`${where(block)}: ${what} did not end within ${BLOCK_TIMEOUT_MS} ms\n${report(run, null)}\n--- demo\n${demo.output().slice(-3000)}`);
      }
      const code = await run.exited;
      assert.equal(code, 0, `${where(block)}: ${what} failed\n${report(run, code)}`);
    };

    for (const step of steps) {
      const title = `${where(step.block)} ${step.block.text.split('\n').find((l) => l.trim() && !l.trim().startsWith('#'))?.trim() ?? ''}`;
      it(title, STEP, async () => {
        await runStep(step);
      });
    }

    async function runStep(step: Step): Promise<void> {
      const background = step.background;
      const watcher = background ? start(background.block) : undefined;
      if (watcher && background && !background.quiet) {
        if (!(await within(watcher.firstLine, BLOCK_TIMEOUT_MS))) {
          watcher.kill();
          assert.fail(`${where(background.block)}: the background block printed nothing within ${BLOCK_TIMEOUT_MS} ms (it should print a retained message once subscribed)\n${report(watcher, null)}`);
        }
      }
      let run = start(step.block);
      await finish(run, step.block, 'the block');
      if (watcher && background) {
        // A quiet watcher cannot say when it has subscribed: what it waits for is done again until it has what it wanted.
        const deadline = Date.now() + BLOCK_TIMEOUT_MS;
        while (background.quiet && !(await within(watcher.exited, QUIET_RETRY_MS)) && Date.now() < deadline) {
          run = start(step.block);
          await finish(run, step.block, 'the block (again, for the quiet background block)');
        }
        await finish(watcher, background.block, 'the background block');
        assertOutput(background.expect, watcher, background.block);
      }
      assertOutput(step.expect, run, step.block);
    }
  });
}
