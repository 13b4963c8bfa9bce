import assert from 'node:assert/strict';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { HTTP_PID } from '../../src/http/index.js';
import type { RunningInstance } from '../../src/instance/index.js';
import { launchChromium, loginThroughConsole, loopbackContext } from '../helpers/browser.js';
import { startTestInstance } from '../helpers/homes.js';
import { FIREFOX_ON_WINDOWS, SAFARI_ON_IPHONE } from '../helpers/sessions-instance.js';
import { tempDir } from '../helpers/temp.js';

/** The README's picture; refreshed with UPDATE_SCREENSHOTS=1, so a plain test run leaves the tree clean. */
const SCREENSHOT = fileURLToPath(new URL('../../docs/console-user-sessions.png', import.meta.url));
const USERS = '/system/console/users';
const PASSWORD = 'alice-pw-correct-horse';

// Who may open and post this page at all is the console's one rule (access.test.ts), and a
// non-administrator's revoke is refused with nothing ended in user-sessions.test.ts.
describe("the console's Users page in Chromium: an administrator ends one of a user's sessions", () => {
  let instance: RunningInstance;
  let browser: Browser;

  /** alice signs in on the login page from a browser of her own; its page, to ask whether she still is. */
  async function aliceSignsIn(userAgent: string, address: string): Promise<Page> {
    const page = await (await loopbackContext(browser, { userAgent, extraHTTPHeaders: { 'x-forwarded-for': address } })).newPage();
    await page.goto(`${instance.url}/system/sling/login`);
    await page.getByLabel('User').fill('alice');
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByText('You are signed in as').waitFor();
    return page;
  }
  const signedIn = async (page: Page) => (await page.request.get(`${instance.url}/api/session`)).status() === 200;

  before(async () => {
    [instance, browser] = await Promise.all([startTestInstance(join(tempDir(), 'home'), { name: 'author-1' }), launchChromium()]);
    await instance.services.config.update(HTTP_PID, { 'proxies.trusted': ['127.0.0.0/8'] });
    await instance.services.users.createGroup('editors');
    await instance.services.users.createUser('alice', { password: PASSWORD, groups: ['editors'] });
    await instance.services.users.createUser('bob', { password: 'bob-pw-correct-horse' });
  });
  after(async () => {
    await browser?.close();
    await instance?.stop();
  });

  it("lists alice's sessions from her row's Sessions link, and the Revoke button ends one: the list says so, that browser is signed out", async () => {
    const laptop = await aliceSignsIn(FIREFOX_ON_WINDOWS, '203.0.113.24');
    const phone = await aliceSignsIn(SAFARI_ON_IPHONE, '198.51.100.7');
    const page = await (await loopbackContext(browser, { viewport: { width: 1280, height: 800 } })).newPage();
    await loginThroughConsole(page, `${instance.url}${USERS}`, 'admin', 'admin-password');

    await page.locator('tr[data-user="alice"]').getByRole('link', { name: 'Sessions' }).click();
    await page.waitForURL(`${instance.url}${USERS}?sessions=alice#sessions`);
    const section = page.locator('section#sessions');
    assert.equal(await section.getByRole('heading').textContent(), 'Sessions of alice');
    const rows = section.locator('table.sessions tbody tr');
    assert.equal(await rows.count(), 2);
    assert.match((await rows.filter({ hasText: 'Firefox' }).textContent()) ?? '', /Firefox 133.*on Windows.*203\.0\.113\.24/s);
    const phoneRow = rows.filter({ hasText: 'Safari' });
    assert.match((await phoneRow.textContent()) ?? '', /Safari 18.*on iOS 18.*198\.51\.100\.7/s);
    const revoke = phoneRow.getByRole('button', { name: /^Revoke session/ });
    assert.match(await revoke.locator('xpath=ancestor::form').locator('input[name="csrf"]').inputValue(), /^[A-Za-z0-9_-]{43}$/, 'the form carries the CSRF token');

    await revoke.click();
    await page.waitForURL(`${instance.url}${USERS}?done=session-revoked&subject=alice&sessions=alice#sessions`);
    assert.match((await page.locator('.notice.ok').textContent()) ?? '', /Ended a session of alice/);
    assert.match((await section.locator('tbody tr').filter({ hasText: 'Safari' }).textContent()) ?? '', /revoked.*by admin/s);
    assert.equal(await section.getByRole('button', { name: /^Revoke session/ }).count(), 1, 'only the laptop is left to revoke');
    assert.equal(await signedIn(phone), false, 'the phone is signed out');
    assert.equal(await signedIn(laptop), true, 'the laptop is not');

    // The console's header and navigation down to the sessions card, in page coordinates (the link scrolled to #sessions).
    const bottom = await section.evaluate((element) => element.getBoundingClientRect().bottom + window.scrollY);
    await page.screenshot({
      path: process.env.UPDATE_SCREENSHOTS ? SCREENSHOT : join(tempDir(), 'console-user-sessions.png'),
      fullPage: true,
      clip: { x: 0, y: 0, width: 1280, height: Math.ceil(bottom + 16) },
    });
  });
});
