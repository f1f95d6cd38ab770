// The comparison examples.test.ts uses between a page's shown output and a real run must be able
// to fail: these cases pin down what it lets through and what it does not.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { unmatchedLines } from './expected-output.js';
import { codeBlocks } from './markdown.js';
import { planSteps } from './doc-examples.js';

describe('expected output of a documented example', () => {
  const result = 'site/demo/gate/main-gate/result {"id":"walkthrough-1","command":"unlock","status":"ok","timing":{"total_ms":27}}';

  it('numbers stand for any number, ... for any text, spaces for any spaces; order does not matter', () => {
    const actual = `site/demo/gate/main-gate/availability online\n${result.replace('27', '3')}\n`;
    assert.deepEqual(unmatchedLines('site/demo/gate/main-gate/result {"id":"walkthrough-1","command":"unlock","status":"ok",...}\nsite/demo/gate/main-gate/availability   online', actual), []);
  });

  it('reports a line whose words differ, and a line the output lacks', () => {
    const missing = unmatchedLines('site/demo/gate/main-gate/result {"id":"walkthrough-1",...,"status":"error",...}\nsite/demo/gate/main-gate/availability online', result);
    assert.deepEqual(missing, ['site/demo/gate/main-gate/result {"id":"walkthrough-1",...,"status":"error",...}', 'site/demo/gate/main-gate/availability online']);
  });

  it('matches a whole line, not a part of one', () => {
    assert.deepEqual(unmatchedLines('status ok', 'health status ok now'), ['status ok']);
  });

  it('each expected line needs its own output line, even when a general pattern could take the specific one', () => {
    assert.deepEqual(unmatchedLines('a ...\na b', 'a b\na c'), []);
    assert.deepEqual(unmatchedLines('a ...\na ...', 'a b'), ['a ...']);
  });
});

describe('tags of documented shell examples', () => {
  const plan = (markdown: string) => planSteps(codeBlocks('page.md', markdown));

  it('pairs a background block with the next demo block, and expected outputs with their blocks', () => {
    const { steps, problems } = plan(
      ['```sh demo background', 'watch', '```', '```sh demo', 'act', '```', '```text expect background', 'seen', '```', '```text expect', 'said', '```'].join('\n'),
    );
    assert.deepEqual(problems, []);
    assert.equal(steps.length, 1);
    assert.equal(steps[0].block.text, 'act');
    assert.equal(steps[0].background?.block.text, 'watch');
    assert.equal(steps[0].background?.expect?.text, 'seen');
    assert.equal(steps[0].expect?.text, 'said');
  });

  it('refuses an untagged shell block, an unknown tag, a dangling background block and output of nothing', () => {
    const { problems } = plan(['```text expect', 'x', '```', '```sh', 'ls', '```', '```sh demo later', 'ls', '```', '```sh demo background', 'w', '```'].join('\n'));
    assert.equal(problems.length, 4, problems.join('\n'));
    assert.match(problems[0], /page\.md:1: expected output, but no demo block/);
    assert.match(problems[1], /page\.md:4: a sh block must say what it is aimed at/);
    assert.match(problems[2], /page\.md:7: unknown tag\(s\) later/);
    assert.match(problems[3], /page\.md:10: a background block with no demo block after it/);
  });
});
