import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { TOKEN_PID } from '../../src/auth/index.js';
import type { RunningInstance } from '../../src/instance/index.js';
import { launchChromium, loginThroughConsole } from '../helpers/browser.js';
import { startTestInstance } from '../helpers/homes.js';
import { login } from '../helpers/http.js';
import { tempDir } from '../helpers/temp.js';

const TOKEN_FORM = '#cfg--capsule-auth-token';
const NEW_OAUTH_FORM = '#new--capsule-oauth-client';

async function tokenTypeOf(url: string, token: string): Promise<string> {
  const response = await fetch(`${url}/api/session`, { headers: { cookie: `login-token=${token}` } });
  return ((await response.json()) as { token: { type: string } }).token.type;
}

describe('configMgr in Chromium', () => {
  let instance: RunningInstance;
  let browser: Browser;
  let page: Page;
  let configMgr: string;

  before(async () => {
    [instance, browser] = await Promise.all([startTestInstance(join(tempDir(), 'home')), launchChromium()]);
    configMgr = `${instance.url}/system/console/configMgr`;
    page = await (await browser.newContext()).newPage();
    await loginThroughConsole(page, configMgr, 'admin', 'admin-password');
  });
  after(async () => {
    await browser?.close();
    await instance?.stop();
  });

  it('lists the components first, opens one at a time with its title, PID and description, and filters the list', async () => {
    assert.equal(new URL(page.url()).pathname, '/system/console/configMgr', 'the login came back to the page');
    const components = instance.services.config.components();
    assert.equal(await page.locator('table.components tbody tr').count(), components.length);
    assert.equal(await page.locator('section.card[id^="component--"]').count(), 0, 'no component is open in the list');
    for (const component of components) {
      const id = component.pid.replace(/[^A-Za-z0-9_-]/g, '-');
      await page.goto(configMgr);
      await page.locator(`#row--${id}`).getByRole('link', { name: component.title }).click();
      await page.waitForURL((url) => url.searchParams.get('pid') === component.pid);
      assert.equal(await page.locator('section.card[id^="component--"]').count(), 1, 'one component at a time');
      const card = page.locator(`#component--${id}`);
      assert.equal(await card.locator('h2').first().textContent(), component.title);
      assert.match((await card.locator('.pid').first().textContent()) ?? '', new RegExp(component.pid.replace(/\./g, '\\.')));
      assert.equal(await card.locator('.description').first().textContent(), component.description);
    }

    await page.goto(configMgr);
    await page.getByLabel('Filter').fill('oauth client');
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.waitForURL(/filter=oauth/);
    const shown = await page.locator('table.components tbody tr td.mono').allTextContents();
    assert.deepEqual(shown, ['capsule.oauth.client (factory)']);
    await page.goto(`${configMgr}?filter=${encodeURIComponent('no such thing')}`);
    assert.equal(await page.locator('table.components tbody tr').count(), 0);
    assert.match((await page.locator('main').textContent()) ?? '', /No component matches/);
    assert.equal((await page.goto(`${configMgr}?pid=capsule.no.such`))?.status(), 404);

    await page.goto(`${configMgr}?pid=${TOKEN_PID}`);
    const form = page.locator(TOKEN_FORM);
    assert.equal(await form.getByLabel('Token lifetime (ms)').getAttribute('type'), 'number');
    assert.equal(await form.getByLabel('Cookie SameSite').evaluate((element) => element.tagName), 'SELECT');
  });

  it('switches on encapsulated tokens, live: the next login gets an encapsulated token', async () => {
    const before = await login(instance.url, 'admin', 'admin-password');
    assert.equal(await tokenTypeOf(instance.url, before), 'stateful');

    await page.goto(`${configMgr}?pid=${TOKEN_PID}`);
    const checkbox = page.getByLabel('Enable encapsulated token support', { exact: true });
    assert.equal(await checkbox.isChecked(), false);
    await checkbox.check();
    await page.locator(TOKEN_FORM).getByRole('button', { name: 'Save' }).click();
    await page.waitForURL(/saved=capsule\.auth\.token/);

    assert.match((await page.locator('.notice.ok').textContent()) ?? '', /Saved capsule\.auth\.token/);
    assert.equal(await page.getByLabel('Enable encapsulated token support', { exact: true }).isChecked(), true);
    assert.deepEqual(instance.services.config.stored(TOKEN_PID), { 'token.encapsulated': true }, 'only the changed value is stored');

    const next = await login(instance.url, 'admin', 'admin-password');
    assert.equal(next.split('.').length, 3, 'a JWS compact token');
    assert.equal(await tokenTypeOf(instance.url, next), 'encapsulated');
    assert.equal(await tokenTypeOf(instance.url, before), 'stateful', 'tokens issued before still work');

    // The browser logs in again and keeps working with its encapsulated token (forms included).
    const second = await (await browser.newContext()).newPage();
    await loginThroughConsole(second, `${configMgr}?pid=${TOKEN_PID}`, 'admin', 'admin-password');
    const cookie = (await second.context().cookies()).find((c) => c.name === 'login-token');
    assert.equal(cookie?.value.split('.').length, 3);
    assert.equal(cookie?.httpOnly, true);
    await second.locator(TOKEN_FORM).getByLabel('Refresh tokens').uncheck();
    await second.locator(TOKEN_FORM).getByRole('button', { name: 'Save' }).click();
    await second.waitForURL(/saved=/);
    assert.equal(instance.services.config.current(TOKEN_PID)['token.refresh'], false);
    await second.context().close();
  });

  it('shows an invalid value next to its field and changes nothing', async () => {
    await page.goto(`${configMgr}?pid=${TOKEN_PID}`);
    const stored = instance.services.config.stored(TOKEN_PID);
    const form = page.locator(TOKEN_FORM);
    await form.getByLabel('Token lifetime (ms)').fill('5');
    await form.getByLabel('Cookie name').fill('bad cookie;name');
    const response = page.waitForResponse((r) => r.request().method() === 'POST');
    await form.getByRole('button', { name: 'Save' }).click();
    assert.equal((await response).status(), 400);
    await page.waitForLoadState();

    const lifetime = page.locator(`${TOKEN_FORM} [data-property="token.expiration"]`);
    assert.match((await lifetime.locator('.error').textContent()) ?? '', /60000/);
    assert.equal(await lifetime.locator('input').inputValue(), '5', 'the entered value is shown again');
    assert.equal(await lifetime.locator('input').getAttribute('aria-invalid'), 'true');
    assert.match((await page.locator(`${TOKEN_FORM} [data-property="token.cookie.name"] .error`).textContent()) ?? '', /cookie name/);
    assert.equal(await page.locator(`${TOKEN_FORM} [data-property="token.refresh"] .error`).count(), 0, 'valid fields have no error');
    assert.match((await page.locator('.notice.error').first().textContent()) ?? '', /not saved; nothing was changed/);
    assert.deepEqual(instance.services.config.stored(TOKEN_PID), stored);
    assert.equal(instance.services.config.current(TOKEN_PID)['token.expiration'], 43_200_000);
  });

  it('adds and deletes a factory configuration; secrets show only "set", values are escaped', async () => {
    await page.goto(`${configMgr}?pid=capsule.oauth.client`);
    const script = '<script>window.__injected = 1</script>';
    await page.locator('#component--capsule-oauth-client').getByText('Add a configuration').click();
    const form = page.locator(NEW_OAUTH_FORM);
    await form.getByLabel('Name').fill('analytics');
    await form.getByLabel('Token endpoint').fill('http://127.0.0.1:9/token');
    await form.getByLabel('Client id').fill('my-client');
    await form.getByLabel('Client secret').fill('very-secret-value');
    await form.getByLabel('Scope').fill(script);
    await form.getByRole('button', { name: 'Add' }).click();
    await page.waitForURL(/saved=capsule\.oauth\.client~analytics/);

    const stored = instance.services.config.stored('capsule.oauth.client~analytics');
    assert.equal(stored?.scope, script);
    assert.match(String(stored?.['client.secret']), /^\{cap1:/, 'the secret is stored protected');

    const saved = page.locator('#cfg--capsule-oauth-client-analytics');
    assert.equal(await saved.getByLabel('Scope').inputValue(), script, 'shown as text, not markup');
    assert.equal(await saved.getByLabel('Client secret').inputValue(), '');
    assert.equal(await saved.locator('[data-property="client.secret"] .badge').textContent(), 'set');
    const content = await page.content();
    assert.ok(!content.includes('very-secret-value') && !content.includes(String(stored?.['client.secret'])), 'neither the secret nor its protected form is on the page');
    assert.ok(!content.includes('<script>'));
    assert.equal(await page.evaluate(() => (globalThis as { __injected?: number }).__injected), undefined);

    // A required secret left empty on a new configuration is refused next to its field.
    await page.locator('#component--capsule-oauth-client').getByText('Add a configuration').click();
    await form.getByLabel('Name').fill('second');
    await form.getByLabel('Token endpoint').fill('not a url');
    await form.getByRole('button', { name: 'Add' }).click();
    await page.waitForLoadState();
    assert.match((await page.locator(`${NEW_OAUTH_FORM} [data-property="client.secret"] .error`).textContent()) ?? '', /required/);
    assert.match((await page.locator(`${NEW_OAUTH_FORM} [data-property="token.endpoint"] .error`).textContent()) ?? '', /URL|url/);
    assert.equal(instance.services.config.stored('capsule.oauth.client~second'), null);

    await page.goto(`${configMgr}?pid=capsule.oauth.client`);
    await page.locator('#cfg--capsule-oauth-client-analytics').getByRole('button', { name: 'Delete' }).click();
    await page.waitForLoadState();
    assert.equal(await page.locator('#confirm-question').textContent(), 'Delete the configuration capsule.oauth.client~analytics?');
    assert.notEqual(instance.services.config.stored('capsule.oauth.client~analytics'), null, 'asking deletes nothing');
    await page.getByRole('link', { name: 'Cancel' }).click();
    await page.waitForURL((url) => url.searchParams.get('pid') === 'capsule.oauth.client');
    assert.notEqual(instance.services.config.stored('capsule.oauth.client~analytics'), null, 'cancelled');
    await page.locator('#cfg--capsule-oauth-client-analytics').getByRole('button', { name: 'Delete' }).click();
    await page.locator('.confirm').getByRole('button', { name: 'Delete' }).click();
    await page.waitForURL(/deleted=capsule\.oauth\.client~analytics/);
    assert.equal(instance.services.config.stored('capsule.oauth.client~analytics'), null);
    assert.equal(await page.locator('#cfg--capsule-oauth-client-analytics').count(), 0);
  });
});
