import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { describeKey, loadKeySet } from '../../src/crypto/index.js';
import type { RunningInstance } from '../../src/instance/index.js';
import { launchChromium, loginThroughConsole } from '../helpers/browser.js';
import { startTestInstance } from '../helpers/homes.js';
import { healthAsAdmin, login, sessionStatus } from '../helpers/http.js';
import { tempDir } from '../helpers/temp.js';

interface HealthJson {
  status: string;
  checks: Array<{ name: string; title: string; status: string; message: string; checkedAt: string }>;
}

describe('the console pages in Chromium', () => {
  let instance: RunningInstance;
  let browser: Browser;
  let page: Page;
  const open = (name: string) => page.goto(`${instance.url}/system/console/${name}`);

  before(async () => {
    [instance, browser] = await Promise.all([startTestInstance(join(tempDir(), 'home')), launchChromium()]);
    await instance.services.users.createGroup('editors');
    page = await (await browser.newContext()).newPage();
    await loginThroughConsole(page, `${instance.url}/system/console/healthcheck`, 'admin', 'admin-password');
  });
  after(async () => {
    await browser?.close();
    await instance?.stop();
  });

  it('navigates between every page from the common navigation', async () => {
    for (const [label, heading] of [['Configuration', 'Configuration'], ['Components', 'Components'], ['Health', 'Health checks'], ['Crypto', 'Crypto'], ['Users', 'Users'], ['Repository', 'Repository']]) {
      await page.locator('nav.main').getByRole('link', { name: label, exact: true }).click();
      await page.waitForLoadState();
      assert.equal(await page.locator('h1').textContent(), heading);
      assert.equal(await page.locator('nav.main a.current').textContent(), label);
    }
  });

  it('healthcheck shows every check with status, message and time, as GET /system/health does', async () => {
    await instance.health.run();
    const json = (await (await healthAsAdmin(instance.url)).json()) as HealthJson;
    await open('healthcheck');
    assert.ok(json.checks.length > 0);
    for (const check of json.checks) {
      const row = page.locator(`tr[data-check="${check.name}"]`);
      assert.equal(await row.locator('.badge').textContent(), check.status);
      assert.match((await row.textContent()) ?? '', new RegExp(check.message.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
      assert.equal(await row.locator('time').getAttribute('datetime'), check.checkedAt);
    }
    await page.getByRole('button', { name: 'Run every check now' }).click();
    await page.waitForURL(/ran=1/);
    assert.match((await page.locator('.notice.ok').textContent()) ?? '', /ran again/);
  });

  it('components shows the repository, key ids, token mode and health', async () => {
    await open('components');
    const text = (await page.locator('main').textContent()) ?? '';
    const info = await instance.services.repo.info();
    const ids = instance.services.crypto.keyIds();
    assert.match(text, new RegExp(`Backend${info.backend}`));
    assert.match(text, /Nodes\d+/);
    assert.ok(text.includes(ids.master) && text.includes(ids.hmac), 'key ids');
    assert.match(text, /Key storagefile system/);
    assert.match(text, /Token modestateful/);
  });

  it('crypto shows key ids and fingerprints, protects a value, refreshes the keys and shows the doctor', async () => {
    const keys = await loadKeySet(instance.services.home.keysDir, instance.services.repo);
    await open('crypto');
    const text = (await page.locator('main').textContent()) ?? '';
    for (const key of [keys.master, keys.hmac]) {
      const { id, sha256 } = describeKey(key);
      assert.ok(text.includes(id) && text.includes(sha256), `${id} and its fingerprint`);
    }
    assert.ok(!(await page.content()).includes(keys.master.toString('hex')), 'fingerprints, not keys');
    assert.match(text, /Storagefile system/);

    await page.getByLabel('Plain text').fill('a client secret');
    await page.getByRole('button', { name: 'Protect' }).click();
    await page.waitForLoadState();
    const protectedValue = (await page.locator('#protected-value').textContent()) ?? '';
    assert.match(protectedValue, new RegExp(`^\\{cap1:${describeKey(keys.master).id}:`));
    assert.equal(instance.services.crypto.unprotect(protectedValue), 'a client secret');
    assert.ok(!(await page.content()).includes('a client secret'), 'the plain text is not shown again');

    await page.getByRole('button', { name: 'Refresh keys' }).click();
    await page.waitForURL(/refreshed=1/);
    assert.match((await page.locator('.notice.ok').textContent()) ?? '', /Keys reloaded/);
    assert.ok((await page.locator('section', { hasText: 'Doctor' }).locator('tbody tr').count()) > 0, 'the doctor has findings');
  });

  it('users: create, group membership, disable and enable, reset password, log out everywhere', async () => {
    await open('users');
    await page.getByLabel('User id').fill('bob');
    await page.locator('#new-user-password').fill('bob-password');
    await page.getByLabel('editors').check();
    await page.getByRole('button', { name: 'Create user' }).click();
    await page.waitForURL(/done=created/);
    assert.match((await page.locator('.notice.ok').textContent()) ?? '', /Created user bob/);
    assert.deepEqual((await instance.services.users.getUser('bob'))?.groups, ['editors']);

    const row = () => page.locator('tr[data-user="bob"]');
    await row().getByLabel('Group for bob').fill('administrators');
    await row().getByRole('button', { name: 'Add to group' }).click();
    await page.waitForURL(/done=added/);
    assert.deepEqual((await instance.services.users.getUser('bob'))?.groups, ['administrators', 'editors']);
    await row().getByRole('button', { name: 'Remove bob from administrators' }).click();
    await page.waitForURL(/done=removed/);
    assert.deepEqual((await instance.services.users.getUser('bob'))?.groups, ['editors']);

    await row().getByRole('button', { name: 'Disable' }).click();
    await page.waitForURL(/done=disabled/);
    assert.equal((await instance.services.users.getUser('bob'))?.disabled, true);
    await row().getByRole('button', { name: 'Enable' }).click();
    await page.waitForURL(/done=enabled/);
    assert.equal((await instance.services.users.getUser('bob'))?.disabled, false);

    await row().getByLabel('New password for bob').fill('new-bob-password');
    await row().getByRole('button', { name: 'Reset password' }).click();
    await page.waitForURL(/done=password/);
    const token = await login(instance.url, 'bob', 'new-bob-password');
    assert.equal(await sessionStatus(instance.url, token), 200);

    await row().getByRole('button', { name: 'Log out everywhere' }).click();
    await page.waitForURL(/done=logged-out/);
    assert.equal(await sessionStatus(instance.url, token), 401, "bob's token has ended");
  });

  it("users: shows an account's lockout, and Unlock clears it farm-wide", async () => {
    await instance.services.users.createUser('carol', { password: 'carol-password' });
    for (let i = 0; i < 10; i++) await instance.tokens.checkPassword('carol', `guess-${i}`, `10.8.0.${i}`);
    assert.equal((await instance.tokens.checkPassword('carol', 'carol-password', '10.8.1.1')).ok, false);
    await open('users');
    const row = page.locator('tr[data-user="carol"]');
    assert.match((await row.locator('.badge.critical').textContent()) ?? '', /^locked until \d{4}-/);
    assert.equal(await page.locator('tr[data-user="admin"]').getByRole('button', { name: 'Unlock' }).count(), 0, 'no Unlock where nothing failed');
    await row.getByRole('button', { name: 'Unlock' }).click();
    await page.waitForURL(/done=unlocked/);
    assert.match((await page.locator('.notice.ok').textContent()) ?? '', /Unlocked carol/);
    assert.equal(await instance.bruteForce.status('carol'), null);
    assert.equal((await instance.tokens.checkPassword('carol', 'carol-password', '10.8.1.2')).ok, true);
  });

  it('users: shows what is wrong, escaped, and keeps an administrator from locking themselves out', async () => {
    await open('users');
    await page.getByLabel('User id').fill('<script>window.__injected = 1</script>');
    await page.locator('#new-user-password').fill('pw-correct-horse');
    await page.getByRole('button', { name: 'Create user' }).click();
    await page.waitForLoadState();
    assert.match((await page.locator('.notice.error').textContent()) ?? '', /may use only letters/);
    assert.equal(await page.evaluate(() => (globalThis as { __injected?: number }).__injected), undefined);

    await page.locator('tr[data-user="admin"]').getByRole('button', { name: 'Disable' }).click();
    await page.waitForLoadState();
    assert.match((await page.locator('.notice.error').textContent()) ?? '', /cannot disable yourself/);
    assert.equal((await instance.services.users.getUser('admin'))?.disabled, false);
  });
});
