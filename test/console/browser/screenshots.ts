// Screenshots of the console in a test run: always into the test's temporary directory, and, when
// GATEHOUSE_SCREENSHOTS=DIR is set, also DIR/console-<name>.png (how docs/images/ is refreshed:
// GATEHOUSE_SCREENSHOTS=docs/images node --import tsx test/run.ts test/console/browser).
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { TestContext } from 'node:test';
import type { Page } from '../../support/browser.js';
import { tempDir } from '../../support/temp.js';

export async function screenshot(t: TestContext, page: Page, name: string): Promise<string> {
  const path = join(tempDir(t, 'console-shots'), `console-${name}.png`);
  await page.screenshot({ path, fullPage: true });
  const wanted = process.env.GATEHOUSE_SCREENSHOTS;
  if (wanted) {
    mkdirSync(resolve(wanted), { recursive: true });
    await page.screenshot({ path: join(resolve(wanted), `console-${name}.png`), fullPage: true });
  }
  return path;
}
