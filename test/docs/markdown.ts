// Reads the fenced code blocks of the project's Markdown pages (README.md and docs/*.md), with
// the words of each block's info string, so tests can run the examples the pages show.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { PACKAGE_ROOT } from '../support/cli-process.js';

export interface CodeBlock {
  /** Path relative to the package root, e.g. `docs/topics.md`. */
  file: string;
  /** 1-based line of the opening fence. */
  line: number;
  /** The info string's first word: `sh`, `text`, `yaml`, ... (empty when there is none). */
  lang: string;
  /** The info string's other words, e.g. `demo`, `background`. */
  tags: string[];
  text: string;
}

/** README.md, then every docs/*.md (sorted): the pages a reader sees. */
export function documentationPages(): string[] {
  const docs = readdirSync(join(PACKAGE_ROOT, 'docs'))
    .filter((name) => name.endsWith('.md'))
    .sort()
    .map((name) => join('docs', name));
  return ['README.md', ...docs];
}

export function readPage(file: string): string {
  return readFileSync(join(PACKAGE_ROOT, file), 'utf8');
}

const FENCE = /^ {0,3}(`{3,}|~{3,})(.*)$/;

/** Every fenced block of `markdown` (CommonMark fences: ``` or ~~~, closed by the same kind, at least as long). */
export function codeBlocks(file: string, markdown: string): CodeBlock[] {
  const blocks: CodeBlock[] = [];
  const lines = markdown.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const open = FENCE.exec(lines[i]);
    if (!open) continue;
    const fence = open[1];
    const [lang = '', ...tags] = open[2].trim().split(/\s+/).filter(Boolean);
    const body: string[] = [];
    let j = i + 1;
    for (; j < lines.length; j++) {
      const close = FENCE.exec(lines[j]);
      if (close && close[1][0] === fence[0] && close[1].length >= fence.length && close[2].trim() === '') break;
      body.push(lines[j]);
    }
    if (j === lines.length) throw new Error(`${file}:${i + 1}: code fence never closed`);
    blocks.push({ file, line: i + 1, lang, tags, text: body.join('\n') });
    i = j;
  }
  return blocks;
}

export function pageBlocks(file: string): CodeBlock[] {
  return codeBlocks(file, readPage(file));
}

export function where(block: CodeBlock): string {
  return `${block.file}:${block.line}`;
}

/** For messages: the path of `file` relative to the package root. */
export function rel(file: string): string {
  return relative(PACKAGE_ROOT, file);
}
