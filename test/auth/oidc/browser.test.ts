import assert from 'node:assert/strict';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import type { Browser, BrowserContext } from 'playwright-core';
import type { RunningInstance } from '../../../src/instance/index.js';
import { launchChromium, LOOPBACK, loopbackContext } from '../../helpers/browser.js';
import { callbackOf, configureProvider, startLoggedInstance } from '../../helpers/oidc-instances.js';
import { startLoginProvider, type LoginProvider } from '../../helpers/oidc-login-provider.js';
import { tempDir } from '../../helpers/temp.js';

/** The README's picture; refreshed with UPDATE_SCREENSHOTS=1, so a plain test run leaves the tree clean. */
const SCREENSHOT = fileURLToPath(new URL('../../../docs/login-page.png', import.meta.url));

describe('the login page and single sign-on in Chromium', () => {
  let instance: RunningInstance;
  let provider: LoginProvider;
  let browser: Browser;
  const aborted: string[] = [];

  const context = (): Promise<BrowserContext> => loopbackContext(browser, { aborted });

  before(async () => {
    [{ instance }, browser] = await Promise.all([startLoggedInstance(join(tempDir(), 'home'), 'publish-1'), launchChromium()]);
    provider = await startLoginProvider({ redirectUris: [callbackOf(instance.url)] });
    await configureProvider(instance, provider);
    provider.groups.set('dana', ['idp-editors']);
  });
  after(async () => {
    await browser?.close();
    await instance?.stop();
    await provider?.close();
  });

  it('signs in with the provider from the login page and lands on the resource', async () => {
    const page = await (await context()).newPage();
    await page.goto(`${instance.url}/system/sling/login?resource=/api/session`);
    const link = page.getByRole('link', { name: 'Sign in with Corporate login' });
    assert.ok(await link.isVisible());
    assert.ok(await page.getByLabel('User').isVisible(), 'the password form is there too');
    const shot = await page.screenshot({ path: process.env.UPDATE_SCREENSHOTS ? SCREENSHOT : join(tempDir(), 'login-page.png') });
    assert.ok(shot.subarray(1, 4).toString() === 'PNG' && shot.length > 1000);

    await link.click();
    await page.waitForURL((url) => url.origin === provider.issuer);
    await page.locator('input[name="login"]').fill('dana');
    await page.locator('input[name="password"]').fill('any password');
    await page.getByRole('button', { name: 'Sign-in' }).click();
    await page.waitForURL(`${instance.url}/api/session`);
    const session = JSON.parse((await page.locator('body').textContent()) ?? '{}') as { userId: string; groups: string[] };
    assert.equal(session.userId, 'dana');
    assert.deepEqual(session.groups, ['editors', 'staff']);
    const cookies = await page.context().cookies(instance.url);
    const token = cookies.find((cookie) => cookie.name === 'login-token');
    assert.ok(token?.httpOnly);
    assert.equal(token?.sameSite, 'Lax');
    assert.equal(cookies.find((cookie) => cookie.name === 'capsule-oidc-state'), undefined, 'the login state is gone');
  });

  it('logs in with a password from the same page and goes on to the resource', async () => {
    const page = await (await context()).newPage();
    await page.goto(`${instance.url}/system/sling/login?resource=/api/session`);
    await page.getByLabel('User').fill('admin');
    await page.getByLabel('Password').fill('wrong');
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.waitForLoadState();
    assert.match((await page.locator('.notice.error').textContent()) ?? '', /User name or password is not right/);
    await page.getByLabel('User').fill('admin');
    await page.getByLabel('Password').fill('admin-password');
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.waitForURL(`${instance.url}/api/session`);
    assert.equal((JSON.parse((await page.locator('body').textContent()) ?? '{}') as { userId: string }).userId, 'admin');
  });

  it('reached nothing beyond loopback', () => {
    for (const origin of aborted) assert.ok(!LOOPBACK.test(new URL(origin).hostname));
  });
});
