// What the config tests share: the demo config as a document to edit, and the issues a rejected
// config reports.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { loadConfig, parseConfigDocument, type ConfigIssue } from '../../src/config.js';

const demoText = readFileSync('config/demo.yaml', 'utf8');

/** A fresh, editable copy of config/demo.yaml as a parsed document. */
export const demo = () => parseConfigDocument(demoText, 'demo.yaml') as Record<string, any>;

/** The issues of a config that must be rejected (fails if it is accepted). */
export function issuesOf(document: unknown, env: NodeJS.ProcessEnv = {}): ConfigIssue[] {
  const result = loadConfig({ document, env });
  assert.equal(result.ok, false, 'expected the config to be rejected');
  return (result as { issues: ConfigIssue[] }).issues;
}

export function expectIssue(issues: ConfigIssue[], path: string, message: RegExp): void {
  const hit = issues.find((i) => i.path === path && message.test(i.message));
  assert.ok(hit, `no issue at ${path} matching ${message}; got:\n${issues.map((i) => `${i.path}: ${i.message}`).join('\n')}`);
}
