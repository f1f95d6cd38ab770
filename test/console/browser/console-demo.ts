// The demo with its console, and chromium pointed at it, for the console's browser tests.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { parseConfigDocument } from '../../../src/config.js';
import { launchBrowser, openPage, type Browser, type Page } from '../../support/browser.js';
import { PACKAGE_ROOT } from '../../support/cli-process.js';
import { startDemo, type DemoProcess } from '../../support/demo.js';

export interface DemoDevice {
  id: string;
  kind: string;
}

/** The devices of config/demo.yaml, the console's subject. */
export function demoDevices(): { site: string; devices: DemoDevice[] } {
  const file = join(PACKAGE_ROOT, 'config', 'demo.yaml');
  const doc = parseConfigDocument(readFileSync(file, 'utf8'), file) as { site: string; devices: DemoDevice[] };
  return { site: doc.site, devices: doc.devices.map(({ id, kind }) => ({ id, kind })) };
}

/** The console's base URL (http://127.0.0.1:PORT), from the demo's `console listening` log line. */
export function consoleUrl(demo: DemoProcess): string {
  if (demo.consolePort === 0) throw new Error(`the demo logged no "console listening" line with a port:\n${demo.stderr}\n${demo.stdout.slice(-3000)}`);
  return `http://127.0.0.1:${demo.consolePort}`;
}

export interface ConsoleDemo {
  demo: DemoProcess;
  url: string;
  browser: Browser;
}

/** Starts the demo (its console on a port the OS picks, `env` added) and chromium; both end after the test `t`. */
export async function startConsoleDemo(t: TestContext, env: Record<string, string> = {}): Promise<ConsoleDemo> {
  const demo = await startDemo(env);
  t.after(() => demo.stop());
  if (!demo.running) throw new Error(`the demo exited at start:\n${demo.stderr}`);
  const url = consoleUrl(demo);
  const browser = await launchBrowser(t);
  return { demo, url, browser };
}

/** Fills the login form by label and submits it with the keyboard (Enter). */
export async function submitLogin(page: Page, user: string, password: string): Promise<void> {
  await page.getByLabel('User').fill(user);
  await page.getByLabel('Password').fill(password);
  await page.getByLabel('Password').press('Enter');
}

/**
 * Waits for the view the address names to have its data: the console marks <main> busy from the
 * start of a render until its view has loaded (its heading shows before that, over "Loading…").
 */
export async function viewReady(page: Page, heading: string): Promise<void> {
  await page.getByRole('heading', { name: heading, level: 1 }).waitFor();
  await page.locator('main#main:not([aria-busy]) > .view').waitFor();
}

/** Opens the console in a fresh context, logs in, and waits for the overview with its data. */
export async function loggedInPage(cd: ConsoleDemo, user: string, password: string, viewport?: { width: number; height: number }) {
  const opened = await openPage(cd.browser, viewport ? { viewport } : {});
  await opened.page.goto(`${cd.url}/`);
  await submitLogin(opened.page, user, password);
  await viewReady(opened.page, 'Site overview');
  return opened;
}

/** Waits until the overview lists `id` as online. */
export async function waitOnline(page: Page, id: string): Promise<void> {
  await page.locator(`li.device[data-device="${id}"] .badge.online`).waitFor({ timeout: 60_000 });
}
