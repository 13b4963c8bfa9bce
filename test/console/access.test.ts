import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { TOKEN_PID } from '../../src/auth/index.js';
import type { RunningInstance } from '../../src/instance/index.js';
import { launchChromium, loginThroughConsole } from '../helpers/browser.js';
import { startTestInstance } from '../helpers/homes.js';
import { login } from '../helpers/http.js';
import { tempDir } from '../helpers/temp.js';

const PAGES = ['/system/console/configMgr', '/system/console/components', '/system/console/healthcheck', '/system/console/crypto', '/system/console/users', '/crx/de'];

/** The CSRF token of the first form on a console page, as the browser would send it. */
async function csrfOf(url: string, token: string): Promise<string> {
  const page = await (await fetch(url, { headers: { cookie: `login-token=${token}` } })).text();
  const match = /name="csrf" value="([^"]+)"/.exec(page);
  assert.ok(match, 'the page has a CSRF field');
  return match[1]!;
}

function post(url: string, token: string, fields: Record<string, string>, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    redirect: 'manual',
    headers: { cookie: `login-token=${token}`, 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(fields),
  });
}

describe('who may use the console', () => {
  let instance: RunningInstance;
  let browser: Browser;
  let evilSite: Server | undefined;

  before(async () => {
    [instance, browser] = await Promise.all([startTestInstance(join(tempDir(), 'home')), launchChromium()]);
    await instance.services.users.createUser('alice', { password: 'alice-password' });
  });
  after(async () => {
    await browser?.close();
    evilSite?.close();
    await instance?.stop();
  });

  it('gives an anonymous visitor the login page of every console page, which logs in and comes back', async () => {
    const page = await (await browser.newContext()).newPage();
    for (const path of PAGES) {
      const response = await page.goto(`${instance.url}${path}`);
      assert.equal(response?.status(), 401, path);
      assert.equal(await page.locator('form[action="/j_security_check"] input[name="resource"]').getAttribute('value'), path);
      assert.equal(await page.locator('nav.main').count(), 0, 'no navigation before login');
    }
    await page.goto(`${instance.url}/crx/de?path=/home`);
    await page.getByLabel('User').fill('admin');
    await page.getByLabel('Password').fill('wrong');
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.waitForURL(/j_reason=invalid_login/);
    assert.match((await page.locator('.notice.error').textContent()) ?? '', /Invalid user name or password/);
    await page.getByLabel('User').fill('admin');
    await page.getByLabel('Password').fill('admin-password');
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.waitForURL((url) => url.pathname === '/crx/de' && url.searchParams.get('path') === '/home' && !url.searchParams.has('j_reason'));
    assert.equal(await page.locator('h1').textContent(), 'Repository');
    await page.context().close();
  });

  it('answers 403 to a user who is not an administrator, on GET and POST', async () => {
    const page = await (await browser.newContext()).newPage();
    await loginThroughConsole(page, `${instance.url}/system/console/users`, 'alice', 'alice-password');
    assert.equal(await page.locator('h1').textContent(), 'Forbidden');
    assert.match((await page.locator('main').textContent()) ?? '', /administrators/);
    const response = await page.goto(`${instance.url}/system/console/configMgr`);
    assert.equal(response?.status(), 403);
    await page.context().close();

    const token = await login(instance.url, 'alice', 'alice-password');
    const refused = await post(`${instance.url}/system/console/configMgr`, token, { action: 'save', pid: TOKEN_PID, 'v.token.encapsulated': 'true' });
    assert.equal(refused.status, 403);
    assert.equal(instance.services.config.stored(TOKEN_PID), null);
  });

  it('refuses a POST without a valid CSRF token, and changes nothing', async () => {
    const token = await login(instance.url, 'admin', 'admin-password');
    const url = `${instance.url}/system/console/configMgr`;
    const change = { action: 'save', pid: TOKEN_PID, 'v.token.encapsulated': 'true' };
    assert.equal((await post(url, token, change)).status, 403, 'no token');
    assert.equal((await post(url, token, { ...change, csrf: 'A'.repeat(43) })).status, 403, 'a made-up token');
    const otherLogin = await login(instance.url, 'admin', 'admin-password');
    const foreignCsrf = await csrfOf(url, otherLogin);
    assert.equal((await post(url, token, { ...change, csrf: foreignCsrf })).status, 403, "another login's token");
    const csrf = await csrfOf(url, token);
    assert.equal((await post(url, token, { ...change, csrf }, { origin: 'http://evil.example' })).status, 403, 'a foreign Origin, even with the token');
    assert.equal((await post(url, token, { ...change, csrf }, { 'sec-fetch-site': 'cross-site' })).status, 403);
    assert.equal(instance.services.config.stored(TOKEN_PID), null, 'nothing was changed');
    assert.equal((await post(`${instance.url}/system/console/users`, token, { action: 'disable', user: 'alice' })).status, 403);
    assert.equal((await instance.services.users.getUser('alice'))?.disabled, false);

    const accepted = await post(url, token, { ...change, csrf }, { origin: instance.url });
    assert.equal(accepted.status, 303, 'the same request from the console is accepted');
    assert.equal(instance.services.config.current(TOKEN_PID)['token.encapsulated'], true);
    await instance.services.config.delete(TOKEN_PID);
  });

  it('refuses a form that another site makes the browser send', async () => {
    // Same site, other origin (another port): the Lax cookie goes along, so only the console's checks stop it.
    evilSite = createServer((_request, response) => {
      response.setHeader('content-type', 'text/html');
      response.end(`<form id="f" method="post" action="${instance.url}/system/console/users">
        <input name="action" value="disable"><input name="user" value="alice"></form>
        <script>document.getElementById('f').submit()</script>`);
    });
    await new Promise<void>((resolve) => evilSite!.listen(0, '127.0.0.1', resolve));
    const page = await (await browser.newContext()).newPage();
    await loginThroughConsole(page, `${instance.url}/system/console/users`, 'admin', 'admin-password');
    const answer = page.waitForResponse((response) => response.request().method() === 'POST');
    await page.goto(`http://127.0.0.1:${(evilSite.address() as AddressInfo).port}/`);
    const response = await answer;
    assert.equal(response.status(), 403, '403, not the login page: the cookie went along, the console refused');
    assert.match(await response.text(), /another site was refused/);
    assert.equal((await instance.services.users.getUser('alice'))?.disabled, false, 'nothing was changed');
    await page.context().close();
  });

  it('refuses a logout form that another site makes the browser send; the console logout button works', async () => {
    const logoutSite = createServer((_request, response) => {
      response.setHeader('content-type', 'text/html');
      response.end(`<form id="f" method="post" action="${instance.url}/system/sling/logout"></form>
        <script>document.getElementById('f').submit()</script>`);
    });
    await new Promise<void>((resolve) => logoutSite.listen(0, '127.0.0.1', resolve));
    try {
      const page = await (await browser.newContext()).newPage();
      await loginThroughConsole(page, `${instance.url}/system/console/users`, 'admin', 'admin-password');
      const answer = page.waitForResponse((response) => response.request().method() === 'POST');
      await page.goto(`http://127.0.0.1:${(logoutSite.address() as AddressInfo).port}/`);
      assert.equal((await answer).status(), 403, 'the cookie went along; the origin check refused');
      const stillIn = await page.goto(`${instance.url}/system/console/users`);
      assert.equal(stillIn?.status(), 200, 'still logged in');
      await page.getByRole('button', { name: 'Log out', exact: true }).click();
      await page.waitForLoadState();
      const after = await page.goto(`${instance.url}/system/console/users`);
      assert.equal(after?.status(), 401, 'the console button logged out');
      await page.context().close();
    } finally {
      logoutSite.close();
    }
  });
});
