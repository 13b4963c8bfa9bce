import assert from 'node:assert/strict';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { HTTP_PID } from '../../src/http/index.js';
import type { RunningInstance } from '../../src/instance/index.js';
import { launchChromium, loopbackContext } from '../helpers/browser.js';
import { startTestInstance } from '../helpers/homes.js';
import { FIREFOX_ON_WINDOWS, SAFARI_ON_IPHONE } from '../helpers/sessions-instance.js';
import { tempDir } from '../helpers/temp.js';

/** The README's picture; refreshed with UPDATE_SCREENSHOTS=1, so a plain test run leaves the tree clean. */
const SCREENSHOT = fileURLToPath(new URL('../../docs/sessions-page.png', import.meta.url));
const PAGE = '/system/sessions';
const PASSWORD = 'alice-pw-correct-horse';

/** Signs in on the login page, as a person does, and lands on its signed-in state. */
async function signIn(page: Page, url: string): Promise<void> {
  await page.goto(`${url}/system/sling/login`);
  await page.getByLabel('User').fill('alice');
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByText('You are signed in as').waitFor();
}

/** True when the page is no wider than the window: nothing to scroll sideways. */
const fitsTheWindow = (page: Page) => page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth);

// The real registry on the instance's SQLite repository; the two browsers reach it through a
// trusted proxy's X-Forwarded-For, so each session has its own address, as behind a load balancer.
describe('"Your sessions" in Chromium: two devices, one ends the other', () => {
  let instance: RunningInstance;
  let browser: Browser;
  let desktop: BrowserContext;
  let phone: BrowserContext;

  before(async () => {
    [instance, browser] = await Promise.all([startTestInstance(join(tempDir(), 'home'), { name: 'publish-1' }), launchChromium()]);
    await instance.services.config.update(HTTP_PID, { 'proxies.trusted': ['127.0.0.0/8'] });
    await instance.services.users.createUser('alice', { password: PASSWORD });
    desktop = await loopbackContext(browser, { viewport: { width: 1280, height: 300 }, userAgent: FIREFOX_ON_WINDOWS, extraHTTPHeaders: { 'x-forwarded-for': '203.0.113.24' } });
    phone = await loopbackContext(browser, { viewport: { width: 390, height: 844 }, userAgent: SAFARI_ON_IPHONE, extraHTTPHeaders: { 'x-forwarded-for': '198.51.100.7' } });
  });
  after(async () => {
    await browser?.close();
    await instance?.stop();
  });

  it('lists both devices, this one marked, and revokes the other: that browser is signed out at its next request', async () => {
    const onDesktop = await desktop.newPage();
    const onPhone = await phone.newPage();
    await signIn(onPhone, instance.url);
    await signIn(onDesktop, instance.url);

    await onDesktop.getByRole('link', { name: 'Your sessions' }).click();
    await onDesktop.waitForURL(`${instance.url}${PAGE}`);
    assert.equal(await onDesktop.getByRole('heading', { level: 1 }).textContent(), 'Your sessions');
    const rows = onDesktop.locator('table.sessions tbody tr');
    assert.equal(await rows.count(), 2);
    const desktopRow = rows.filter({ hasText: 'Firefox' });
    const phoneRow = rows.filter({ hasText: 'Safari' });
    assert.match((await desktopRow.textContent()) ?? '', /Firefox 133.*on Windows.*this device.*203\.0\.113\.24.*password/s);
    assert.match((await phoneRow.textContent()) ?? '', /Safari 18.*on iOS 18.*198\.51\.100\.7/s);
    assert.equal(await onDesktop.getByText('this device', { exact: true }).count(), 1, 'only this browser is "this device"');
    assert.equal(await desktopRow.getByRole('button', { name: 'Revoke' }).count(), 0, 'this device is not revoked from here: Sign out is');
    // Down to the Back link, in page coordinates: the picture is the content, not the empty page below it.
    const bottom = await onDesktop.getByRole('link', { name: 'Back' }).evaluate((element) => element.getBoundingClientRect().bottom + window.scrollY);
    await onDesktop.screenshot({
      path: process.env.UPDATE_SCREENSHOTS ? SCREENSHOT : join(tempDir(), 'sessions-page.png'),
      fullPage: true,
      clip: { x: 0, y: 0, width: 1280, height: Math.ceil(bottom + 20) },
    });

    await phoneRow.getByRole('button', { name: 'Revoke' }).click();
    await onDesktop.waitForURL(`${instance.url}${PAGE}?done=revoked`);
    assert.match((await onDesktop.getByRole('status').textContent()) ?? '', /The session is ended/);
    assert.match((await rows.filter({ hasText: 'Safari' }).textContent()) ?? '', /revoked/);
    assert.equal(await onDesktop.getByRole('button', { name: 'Revoke' }).count(), 0);

    await onPhone.goto(`${instance.url}${PAGE}`);
    assert.equal(onPhone.url(), `${instance.url}/system/sling/login?resource=${encodeURIComponent(PAGE)}`, 'the phone is signed out');
    assert.equal((await onPhone.request.get(`${instance.url}/api/session`)).status(), 401);
    assert.equal((await onDesktop.request.get(`${instance.url}/api/session`)).status(), 200, 'this device stays signed in');
  });

  it('"Sign out other sessions" ends every other one and keeps this one', async () => {
    const onDesktop = await desktop.newPage();
    const onPhone = await phone.newPage();
    await signIn(onPhone, instance.url);
    await onDesktop.goto(`${instance.url}${PAGE}`);
    assert.equal(await onDesktop.getByRole('button', { name: 'Revoke' }).count(), 1, 'the phone signed in again: a new session');

    await onDesktop.getByRole('button', { name: 'Sign out other sessions' }).click();
    await onDesktop.waitForURL(`${instance.url}${PAGE}?done=others`);
    assert.match((await onDesktop.getByRole('status').textContent()) ?? '', /Every other session is ended/);
    assert.equal(await onDesktop.getByRole('button', { name: 'Revoke' }).count(), 0);
    assert.equal(await onDesktop.getByRole('button', { name: 'Sign out other sessions' }).count(), 0);
    assert.equal((await onPhone.request.get(`${instance.url}/api/session`)).status(), 401);
    assert.equal((await onDesktop.request.get(`${instance.url}/api/session`)).status(), 200);
  });

  it('stays usable on a phone (390 px): nothing overflows sideways, and Revoke is within reach', async () => {
    const onLaptop = await (await loopbackContext(browser, { userAgent: FIREFOX_ON_WINDOWS, extraHTTPHeaders: { 'x-forwarded-for': '192.0.2.61' } })).newPage();
    const onPhone = await (await loopbackContext(browser, { viewport: { width: 390, height: 844 }, userAgent: SAFARI_ON_IPHONE })).newPage();
    await signIn(onLaptop, instance.url);
    await signIn(onPhone, instance.url);
    await onPhone.goto(`${instance.url}${PAGE}`);
    assert.ok(await fitsTheWindow(onPhone), 'no horizontal scrolling of the page at 390 px');
    const revoke = onPhone.getByRole('button', { name: 'Revoke' }).first();
    const box = await revoke.boundingBox();
    assert.ok(box && box.x >= 0 && box.x + box.width <= 390, `Revoke is inside the window: ${JSON.stringify(box)}`);
    assert.equal(await onPhone.locator('tr.current').getByText('this device', { exact: true }).count(), 1);

    await onPhone.getByRole('button', { name: 'Sign out other sessions' }).click();
    await onPhone.waitForURL(`${instance.url}${PAGE}?done=others`);
    assert.ok(await fitsTheWindow(onPhone), 'the page with the notice and ended sessions fits too');
    assert.equal((await onLaptop.request.get(`${instance.url}/api/session`)).status(), 401);
  });
});
