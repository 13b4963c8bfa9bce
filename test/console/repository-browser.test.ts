import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { readRepositoryKeys } from '../../src/crypto/index.js';
import type { RunningInstance } from '../../src/instance/index.js';
import { launchChromium, loginThroughConsole } from '../helpers/browser.js';
import { startTestInstance } from '../helpers/homes.js';
import { tempDir } from '../helpers/temp.js';

/** Every way key bytes could appear as text on a page. */
function encodingsOf(key: Buffer): string[] {
  return [key.toString('hex'), key.toString('hex').toUpperCase(), key.toString('base64'), key.toString('base64url'), key.toString('base64').slice(0, 20)];
}

describe('the repository browser /crx/de', () => {
  let instance: RunningInstance;
  let browser: Browser;
  let page: Page;
  const browse = (path: string) => page.goto(`${instance.url}/crx/de?path=${encodeURIComponent(path)}`);

  before(async () => {
    [instance, browser] = await Promise.all([startTestInstance(join(tempDir(), 'home'), { keyStorage: 'repository' }), launchChromium()]);
    await instance.services.repo.addNode('/content/site', { properties: { title: '<script>window.__injected = 1</script>', tags: ['a', 'b'] } });
    page = await (await browser.newContext()).newPage();
    await loginThroughConsole(page, `${instance.url}/crx/de`, 'admin', 'admin-password');
  });
  after(async () => {
    await browser?.close();
    await instance?.stop();
  });

  it('shows the tree and the properties of a node, escaped', async () => {
    await browse('/content/site');
    assert.equal(await page.locator('.tree a.current').textContent(), 'site');
    for (const name of ['content', 'etc', 'home']) assert.equal(await page.locator('.tree a', { hasText: new RegExp(`^${name}$`) }).count(), 1, name);
    assert.equal(await page.locator('[data-property="title"] .mono').textContent(), '<script>window.__injected = 1</script>');
    assert.equal(await page.locator('[data-property="tags"] .mono').textContent(), '[a, b]');
    assert.equal(await page.evaluate(() => (globalThis as { __injected?: number }).__injected), undefined);
    assert.ok(!(await page.content()).includes('<script>'));
  });

  it('never shows the keys under /etc/key, nor offers them for download', async () => {
    const keys = await readRepositoryKeys(instance.services.repo);
    assert.ok(keys.master && keys.hmac, 'this home keeps its keys in the repository');
    const response = await browse('/etc/key');
    assert.equal(response?.status(), 200);
    for (const name of ['master', 'hmac']) {
      assert.equal(await page.locator(`[data-property="${name}"] .hidden-value`).textContent(), 'key material: never shown');
    }
    const content = await page.content();
    for (const text of [...encodingsOf(keys.master), ...encodingsOf(keys.hmac)]) assert.ok(!content.includes(text), 'no key bytes in any encoding');
    assert.ok(!/32 bytes/.test(content), 'not even their size');
    const links = await Promise.all((await page.locator('a').all()).map((anchor) => anchor.getAttribute('href').then((href) => href ?? '')));
    assert.ok(links.every((href) => !href.includes('master') && !href.includes('hmac')), 'no link to a key property');
    assert.equal((await browse('/etc/key/master'))?.status(), 404, 'a property is not a node to open');
  });

  it('hides password and token hashes', async () => {
    const admin = await instance.services.repo.getNode('/home/users/a/admin');
    const passwordHash = String(admin?.properties.passwordHash);
    await browse('/home/users/a/admin');
    assert.equal(await page.locator('[data-property="passwordHash"] .hidden-value').textContent(), 'secret: not shown');
    assert.ok(!(await page.content()).includes(passwordHash.slice(-20)));

    // The browser's own login is a stateful token under the user.
    const [tokenNode] = await instance.services.repo.getChildren('/home/users/a/admin/.tokens');
    assert.ok(tokenNode);
    await browse(tokenNode.path);
    assert.equal(await page.locator('[data-property="tokenHash"] .hidden-value').textContent(), 'secret: not shown');
    assert.ok(!(await page.content()).includes(String(tokenNode.properties.tokenHash)));
  });

  it('answers 404 for a missing node and 400 for a malformed path', async () => {
    assert.equal((await browse('/no/such/node'))?.status(), 404);
    assert.match((await page.locator('.notice.error').textContent()) ?? '', /No node at \/no\/such\/node/);
    assert.equal((await browse('relative'))?.status(), 400);
  });
});
