// Temporary directories that never outlive their test.
import { mkdtempSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, type TestContext } from 'node:test';

/** A fresh directory that the caller removes (removeTempDir) when what uses it has stopped. */
export function makeTempDir(label = 'test'): string {
  // realpath: tmpdir() may be behind a symlink, and tests compare paths the gateway prints.
  return realpathSync(mkdtempSync(join(tmpdir(), `gatehouse-${label}-`)));
}

export function removeTempDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/**
 * A fresh directory, removed after the test `t`. t.after hooks run in the order they were
 * registered, so whatever writes into the directory must be stopped by a hook registered before
 * this call (support/gateway.ts's tempDataDir waits for its gateways itself).
 */
export function tempDir(t: TestContext, label = 'test'): string {
  const dir = makeTempDir(label);
  t.after(() => removeTempDir(dir));
  return dir;
}

/**
 * A fresh directory for every test of a file or a describe block: call it at the top level of the
 * file or in the describe body; it is removed after the last test there.
 */
export function sharedTempDir(label = 'test'): string {
  const dir = makeTempDir(label);
  after(() => removeTempDir(dir));
  return dir;
}
