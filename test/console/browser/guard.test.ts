// The console in chromium against the demo, as the guard: every device with its state, live
// updates, Unlock with its result (and the same result on MQTT), the camera's snapshot, a phone in
// portrait, the keyboard.
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { test } from 'node:test';
import { openPage, type Page } from '../../support/browser.js';
import { mosquittoPub, mosquittoSub } from '../../support/mosquitto.js';
import { demoDevices, loggedInPage, startConsoleDemo, viewReady, waitOnline, type ConsoleDemo } from './console-demo.js';
import { screenshot } from './screenshots.js';

const PHONE = { width: 412, height: 915 };
const { site, devices } = demoDevices();

async function fitsWidth(page: Page): Promise<{ scrollWidth: number; clientWidth: number }> {
  return page.evaluate(() => ({ scrollWidth: document.documentElement.scrollWidth, clientWidth: document.documentElement.clientWidth }));
}

async function summaryOf(page: Page, id: string): Promise<string> {
  return (await page.locator(`li.device[data-device="${id}"] .summary`).textContent()) ?? '';
}

test('the console as the guard', async (t) => {
  const cd: ConsoleDemo = await startConsoleDemo(t);

  await t.test('every demo device is listed with its availability and its state in words, and the gateway', async (t) => {
    const { page, context, problems } = await loggedInPage(cd, 'guard', 'guard-demo');
    t.after(() => context.close());
    assert.equal(await page.locator('li.device').count(), devices.length);
    for (const { id, kind } of devices) {
      await waitOnline(page, id);
      const card = page.locator(`li.device[data-device="${id}"]`);
      assert.match((await card.locator('.kind').textContent()) ?? '', new RegExp(`^${kind} · ${id}$`));
      const summary = await summaryOf(page, id);
      assert.ok(summary.trim() !== '' && summary !== '—', `${id} shows its state in words, not "${summary}"`);
    }
    const version = page.locator('.gateway-facts div', { hasText: 'Version' }).locator('dd');
    assert.notEqual(await version.textContent(), '—');
    await screenshot(t, page, 'overview');
    assert.deepEqual(problems, []);
  });

  await t.test('the overview follows a state change without a reload (the live feed)', async (t) => {
    const { page, context } = await loggedInPage(cd, 'guard', 'guard-demo');
    t.after(() => context.close());
    await waitOnline(page, 'garage-gate');
    await page.locator('#live-status.up').waitFor();
    assert.doesNotMatch(await summaryOf(page, 'garage-gate'), /unlocked/);
    await page.evaluate(() => ((window as unknown as { notReloaded: boolean }).notReloaded = true));
    const pub = await mosquittoPub({ port: cd.demo.port, username: 'guard', password: 'guard-demo', qos: 1, topic: `site/${site}/gate/garage-gate/unlock`, message: '{"duration_ms":20000}' });
    assert.equal(pub.code, 0, pub.stderr);
    await page.locator('li.device[data-device="garage-gate"] .summary', { hasText: /unlocked/ }).waitFor();
    assert.equal(await page.evaluate(() => (window as unknown as { notReloaded?: boolean }).notReloaded), true);
  });

  await t.test('Unlock on the main gate shows the result and the state change; MQTT sees the same result, source console', async (t) => {
    const results = await mosquittoSub({ port: cd.demo.port, username: 'guard', password: 'guard-demo', topics: [`site/${site}/gate/main-gate/result`] });
    t.after(() => results.stop());
    const { page, context, problems } = await loggedInPage(cd, 'guard', 'guard-demo');
    t.after(() => context.close());
    await page.goto(`${cd.url}/#/devices/main-gate`);
    await page.locator('.state-line .badge.online').waitFor({ timeout: 60_000 });
    assert.doesNotMatch((await page.locator('.state-line .summary').textContent()) ?? '', /unlocked/);

    await page.getByLabel(/^Duration ms/).fill('20000');
    const answered = page.waitForResponse((r) => r.url().endsWith('/api/devices/main-gate/commands/unlock'));
    await page.getByRole('button', { name: 'Unlock', exact: true }).click();
    const answer = (await (await answered).json()) as { id: string; code?: string; source: string; user: string };
    assert.equal(answer.source, 'console');
    assert.equal(answer.user, 'guard');

    const shown = page.locator('#command-result');
    await shown.locator('text=Unlock: ok').waitFor();
    assert.equal(await shown.getAttribute('aria-live'), 'polite');
    await page.locator('.state-line .summary', { hasText: /unlocked/ }).waitFor();

    const seen = await results.waitFor((m) => (JSON.parse(m.text) as { id?: string }).id === answer.id);
    const onMqtt = JSON.parse(seen.text) as { status: string; source: string; command: string };
    assert.equal(onMqtt.source, 'console');
    assert.equal(onMqtt.command, 'unlock');
    assert.equal(onMqtt.status, 'ok');
    // The journal of the device page records it, by the guard through the console.
    await page.reload();
    await page.locator('table.journal tr', { hasText: 'guard via console' }).first().waitFor();
    assert.deepEqual(problems, []);
  });

  await t.test("Snapshot on the camera's page shows the new picture", async (t) => {
    const { page, context } = await loggedInPage(cd, 'guard', 'guard-demo');
    t.after(() => context.close());
    await page.goto(`${cd.url}/#/devices/lobby-cam`);
    await page.locator('.state-line .badge.online').waitFor({ timeout: 60_000 });
    const before = await page.locator('img.snapshot').getAttribute('src');
    const answered = page.waitForResponse((r) => r.url().endsWith('/api/devices/lobby-cam/commands/snapshot'));
    await page.getByRole('button', { name: 'Snapshot', exact: true }).click();
    assert.equal(((await (await answered).json()) as { code?: string }).code ?? 'ok', 'ok');
    await page.waitForFunction(
      (old) => {
        const img = document.querySelector<HTMLImageElement>('img.snapshot');
        return img !== null && !img.hidden && img.src !== '' && img.getAttribute('src') !== old && img.complete && img.naturalWidth > 0;
      },
      before,
    );
    const src = await page.locator('img.snapshot').getAttribute('src');
    const image = await page.request.get(`${cd.url}${src}`);
    assert.equal(image.headers()['content-type'], 'image/jpeg');

    // The PTZ pad and the presets.
    await page.getByRole('button', { name: 'Pan right' }).click();
    await page.locator('#command-result', { hasText: 'PTZ move: ok' }).waitFor();
    await page.getByLabel('Preset (token or name)').fill('1');
    await page.getByRole('button', { name: 'Go to preset' }).click();
    await page.locator('#command-result', { hasText: 'Preset: ok' }).waitFor();
    await page.locator('dl.state div', { hasText: /^Preset/ }).locator('dd', { hasText: /1/ }).waitFor();
  });

  await t.test('a phone in portrait (412x915): no sideways scrolling, every button reachable', async (t) => {
    const { page, context, problems } = await loggedInPage(cd, 'guard', 'guard-demo', PHONE);
    t.after(() => context.close());
    await waitOnline(page, 'main-gate');
    for (const view of ['/', '/devices/main-gate', '/devices/lobby-cam', '/devices/lobby-turnstile', '/journal', '/config']) {
      await page.goto(`${cd.url}/#${view}`);
      await page.locator('main h1').first().waitFor();
      await page.waitForLoadState('networkidle').catch(() => undefined);
      const { scrollWidth, clientWidth } = await fitsWidth(page);
      assert.ok(scrollWidth <= clientWidth, `#${view} is ${scrollWidth} px wide in a ${clientWidth} px window`);
      const unlabelled = await page.evaluate(() =>
        [...document.querySelectorAll<HTMLInputElement | HTMLSelectElement>('main input, main select')].filter((i) => i.labels?.length === 0 && !i.getAttribute('aria-label')).map((i) => i.name),
      );
      assert.deepEqual(unlabelled, [], `#${view}: inputs without a label`);
      for (const button of await page.locator('main button').all()) {
        await button.scrollIntoViewIfNeeded();
        const box = await button.boundingBox();
        assert.ok(box && box.x >= 0 && box.x + box.width <= PHONE.width && box.height >= 40, `#${view}: button "${await button.textContent()}" at ${JSON.stringify(box)}`);
      }
    }
    await page.goto(`${cd.url}/#/devices/main-gate`);
    await page.locator('.state-line .badge.online').waitFor();
    await screenshot(t, page, 'device');
    const lock = page.getByRole('button', { name: 'Lock', exact: true });
    await lock.scrollIntoViewIfNeeded();
    await lock.click();
    await page.locator('#command-result', { hasText: 'Lock: ok' }).waitFor();
    assert.deepEqual(problems, []);
  });

  await t.test('the keyboard alone logs in and sends a command, with the focus visible', async (t) => {
    const { page, context } = await openPage(cd.browser);
    t.after(() => context.close());
    await page.goto(`${cd.url}/`);
    await page.getByLabel('User').waitFor();
    await page.keyboard.type('guard');
    await page.keyboard.press('Tab');
    await page.keyboard.type('guard-demo');
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Site overview', level: 1 }).waitFor();
    await waitOnline(page, 'main-gate');
    let focused = '';
    for (let i = 0; i < 60 && focused !== 'Lock'; i++) {
      await page.keyboard.press('Tab');
      focused = await page.evaluate(() => (document.activeElement?.closest('li.device') as HTMLElement | null)?.dataset.device === 'main-gate' ? (document.activeElement?.textContent ?? '') : '');
    }
    assert.equal(focused, 'Lock', 'Tab reaches the main gate\'s Lock button');
    const outline = await page.evaluate(() => getComputedStyle(document.activeElement!).outlineStyle);
    assert.notEqual(outline, 'none');
    await page.keyboard.press('Enter');
    await page.locator('li.device[data-device="main-gate"] .result', { hasText: 'Lock: ok' }).waitFor();

    // Log out: back to the login, and the session is gone for the API as well.
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.getByLabel('Password').waitFor();
    assert.equal((await page.request.get(`${cd.url}/api/overview`)).status(), 401);
    assert.equal(await page.locator('#live-status').textContent(), 'offline');
  });

  await t.test('a view whose data arrives after the next navigation does not draw over that view', async (t) => {
    const { page, context, problems } = await loggedInPage(cd, 'guard', 'guard-demo');
    t.after(() => context.close());
    await page.goto(`${cd.url}/#/journal`);
    await viewReady(page, 'Journal');
    // The overview's answer is held back until the journal is on screen, then let through.
    let release = () => {};
    const held = new Promise<void>((resolve) => (release = resolve));
    await page.route('**/api/overview', async (route) => {
      await held;
      await route.continue();
    });
    const overviewAnswered = page.waitForResponse((r) => r.url().endsWith('/api/overview'));
    await page.goto(`${cd.url}/#/`);
    await page.getByText('Loading…').first().waitFor();
    await page.goto(`${cd.url}/#/journal?type=login`);
    await viewReady(page, 'Journal');
    release();
    await (await overviewAnswered).finished();
    // The answer is in the page: two frames later the overview view has drawn, if it were to draw.
    await page.evaluate(() => new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve))));
    assert.equal(await page.getByRole('heading', { name: 'Site overview' }).count(), 0);
    assert.equal(await page.getByRole('heading', { name: 'Journal', level: 1 }).count(), 1);
    assert.equal(await page.locator('li.device').count(), 0);
    assert.deepEqual(problems, []);
  });

  await t.test("the journal: filtered by device and type, paged, and the same search as CSV", async (t) => {
    const { page, context } = await loggedInPage(cd, 'guard', 'guard-demo');
    t.after(() => context.close());
    // Two a page, so that the commands sent above (an unlock and two locks) need the next page.
    await page.goto(`${cd.url}/#/journal?limit=2`);
    await viewReady(page, 'Journal');
    await page.getByLabel('Device').fill('main-gate');
    await page.getByLabel('Type').selectOption('command');
    await page.getByRole('button', { name: 'Search' }).click();
    await page.waitForURL(/#\/journal\?device=main-gate&type=command&limit=2$/);
    const rows = page.locator('table.journal tbody tr');
    await page.getByText(/^2 entries/).waitFor();
    await page.getByRole('button', { name: 'Older entries' }).click();
    await page.getByText(/^[3-9] entries|^\d{2,} entries/).waitFor();
    for (const row of await rows.all()) {
      const cells = await row.locator('td').allTextContents();
      assert.deepEqual(cells.slice(1, 3), ['command', 'main-gate'], cells.join(' | '));
    }
    const href = await page.getByRole('link', { name: 'Export as CSV' }).getAttribute('href');
    assert.equal(href, '/api/journal.csv?device=main-gate&type=command');
    const csv = await page.request.get(`${cd.url}${href}`);
    assert.equal(csv.status(), 200);
    assert.match(csv.headers()['content-type'] ?? '', /^text\/csv/);
    const lines = (await csv.text()).trim().split(/\r?\n/);
    assert.ok(lines.length >= 4, `a header and at least three commands:\n${lines.join('\n')}`);
    assert.ok(lines.slice(1).every((l) => l.includes('main-gate') && l.includes('command')), lines.join('\n'));
  });
});

test('the committed screenshots exist', () => {
  for (const name of ['overview', 'device']) assert.ok(statSync(new URL(`../../../docs/images/console-${name}.png`, import.meta.url)).size > 0);
});
