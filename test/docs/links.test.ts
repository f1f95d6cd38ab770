// The pages link to each other by file and heading; a link to a moved file or a renamed heading
// would leave the reader at the top of a page or nowhere. Every relative link of README.md and
// docs/*.md must name a file that exists and, with a #fragment, a heading of that file (GitHub's
// anchors: lower case, punctuation dropped, spaces to hyphens, repeats numbered).
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { describe, it } from 'node:test';
import { PACKAGE_ROOT } from '../support/cli-process.js';
import { documentationPages, readPage } from './markdown.js';

/** GitHub's heading anchor (github-slugger): lower case, drop what is not a letter, digit, space, - or _, spaces to -. */
export function slug(heading: string): string {
  return heading
    .replace(/`/g, '')
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

/** The text outside fenced code blocks, line by line with line numbers. */
function prose(markdown: string): { line: number; text: string }[] {
  let fenced = false;
  return markdown.split('\n').flatMap((text, i) => {
    if (/^ {0,3}(`{3,}|~{3,})/.test(text)) {
      fenced = !fenced;
      return [];
    }
    return fenced ? [] : [{ line: i + 1, text }];
  });
}

function anchors(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const result = new Set<string>();
  for (const { text } of prose(markdown)) {
    const heading = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(text);
    if (!heading) continue;
    const base = slug(heading[1]);
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    result.add(n === 0 ? base : `${base}-${n}`);
  }
  return result;
}

describe('documentation: links between the pages', () => {
  const pages = documentationPages();

  it('heading anchors are made as GitHub makes them', () => {
    assert.equal(slug('MQTT 3.1.1 beyond aedes'), 'mqtt-311-beyond-aedes');
    assert.equal(slug('The $SYS topics'), 'the-sys-topics');
    assert.equal(slug('Line-protocol devices (serial-line)'), 'line-protocol-devices-serial-line');
    assert.equal(slug('/healthz'), 'healthz');
    assert.equal(slug('Stop, signals and exit codes'), 'stop-signals-and-exit-codes');
  });

  it('every relative link names a file that exists, and a heading of it', () => {
    const problems: string[] = [];
    let checked = 0;
    for (const page of pages) {
      for (const { line, text } of prose(readPage(page))) {
        // Inline code may show link-like text; only real links count.
        const withoutCode = text.replace(/`[^`]*`/g, '');
        for (const link of withoutCode.matchAll(/\]\(([^)\s]+)\)/g)) {
          const target = link[1];
          if (/^[a-z]+:/i.test(target)) continue;
          checked++;
          const [file, fragment] = target.split('#');
          const path = file === '' ? page : normalize(join(dirname(page), file));
          if (!existsSync(join(PACKAGE_ROOT, path))) {
            problems.push(`${page}:${line}: ${target}: no file ${relative('.', path)}`);
            continue;
          }
          if (fragment === undefined) continue;
          if (!path.endsWith('.md')) {
            problems.push(`${page}:${line}: ${target}: a #fragment on a file that is not Markdown`);
          } else if (!anchors(readPage(path)).has(fragment)) {
            problems.push(`${page}:${line}: ${target}: ${path} has no heading #${fragment}`);
          }
        }
      }
    }
    assert.ok(checked > 50, `only ${checked} links checked; is the scan broken?`);
    assert.deepEqual(problems, []);
  });
});
