// Finds the `gatehouse <command>` invocations the pages show, in code blocks and inline code, so a
// test can check each names a command the CLI has.
import type { CodeBlock } from './markdown.js';

/** Log messages that start with the word gatehouse; inline code may quote them. */
export const LOG_MESSAGES = ['gatehouse online', 'gatehouse stopped', 'gatehouse could not start', 'gatehouse is stopping'];
/** What may follow `gatehouse` other than a command name. */
export const GLOBAL_WORDS = ['--help', '-h', 'help', '--version'];

export interface Invocation {
  /** file:line */
  where: string;
  word: string;
  text: string;
}

// `gatehouse` as a command word: at the start, after a space, `;`, `&`, `|`, `(`, `$`, a backtick,
// or in `npm run gatehouse --`. Not a path (/usr/local/bin/gatehouse), not a user (-u gatehouse).
const INVOCATION = /(^|[\s;&|($`])(npm run gatehouse --|gatehouse)[ \t]+([^\s`'"]+)/g;

function scanLine(line: string, at: string, found: Invocation[]): void {
  for (const m of line.matchAll(INVOCATION)) {
    const before = line.slice(0, m.index + m[1].length);
    if (m[2] === 'gatehouse' && /(^|\s)(-u|--user|-g|--group|chown|chgrp|useradd|usermod|userdel)\s+$/.test(before)) continue;
    const word = m[3];
    // `gatehouse                    # comment`, `gatehouse && ...`: the word is not a command.
    if (!/^-{0,2}[a-z]/.test(word)) continue;
    found.push({ where: at, word, text: line.trim() });
  }
}

/** Invocations in shell and text blocks (a text block's lines are usage lines or `$ gatehouse ...` transcripts). */
export function blockInvocations(block: CodeBlock, isShell: boolean): Invocation[] {
  const found: Invocation[] = [];
  if (!isShell && block.lang !== 'text' && block.lang !== '') return found;
  block.text.split('\n').forEach((line, i) => {
    const at = `${block.file}:${block.line + 1 + i}`;
    if (isShell) return scanLine(line.replace(/#.*$/, ''), at, found);
    // In output, only lines that are commands: `$ gatehouse ...` or a usage line `gatehouse ...`.
    const command = /^\s*(?:\$\s+)?((?:npm run gatehouse --|gatehouse)\s.*)$/.exec(line);
    if (command) scanLine(command[1], at, found);
  });
  return found;
}

/** Invocations in inline code spans (`gatehouse check --config FILE`), outside fenced blocks. */
export function inlineInvocations(file: string, markdown: string): Invocation[] {
  const found: Invocation[] = [];
  let fenced = false;
  markdown.split('\n').forEach((line, i) => {
    if (/^ {0,3}(`{3,}|~{3,})/.test(line)) fenced = !fenced;
    if (fenced) return;
    for (const span of line.matchAll(/`([^`]+)`/g)) {
      const code = span[1].trim();
      if (!/^(npm run gatehouse --|gatehouse)\s/.test(code)) continue;
      if (LOG_MESSAGES.some((m) => code === m || code.startsWith(`${m}:`))) continue;
      scanLine(code, `${file}:${i + 1}`, found);
    }
  });
  return found;
}
