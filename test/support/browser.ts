// Debian's chromium driven by playwright-core, for the console's browser tests. Never a downloaded
// browser: this machine (and CI) reaches only package registries; CI installs chromium with apt.
import { accessSync, constants } from 'node:fs';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import type { TestContext } from 'node:test';

export const CHROMIUM = '/usr/bin/chromium';

export type { Browser, BrowserContext, Page };

/** Throws (naming the fix) unless /usr/bin/chromium is there and executable. */
export function requireChromium(): string {
  try {
    accessSync(CHROMIUM, constants.X_OK);
  } catch {
    throw new Error(`${CHROMIUM} not found: install it with apt-get install -y chromium (or run test/support/ensure-peers.sh); the browser tests never download one`);
  }
  return CHROMIUM;
}

/** Launches headless chromium; closed after the test `t` (or by the caller). */
export async function launchBrowser(t?: TestContext): Promise<Browser> {
  const browser = await chromium.launch({ executablePath: requireChromium(), args: ['--no-sandbox'], headless: true });
  t?.after(() => browser.close());
  return browser;
}

/**
 * A fresh context (own cookies) and page. `problems` collects the page's uncaught errors and
 * console errors (a CSP violation is one), but not the browser's "Failed to load resource" lines:
 * answers such as a 401 before the login are the API working; tests look at those themselves.
 */
export async function openPage(browser: Browser, opts: { viewport?: { width: number; height: number } } = {}): Promise<{ context: BrowserContext; page: Page; problems: string[] }> {
  const context = await browser.newContext({ viewport: opts.viewport ?? { width: 1280, height: 900 } });
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) problems.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  return { context, page, problems };
}
