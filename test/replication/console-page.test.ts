import assert from 'node:assert/strict';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { readAgentState, replicationStatus } from '../../src/replication/index.js';
import { launchChromium, loginThroughConsole } from '../helpers/browser.js';
import { startTestInstance } from '../helpers/homes.js';
import { login } from '../helpers/http.js';
import { freePort } from '../helpers/ports.js';
import { tempDir } from '../helpers/temp.js';
import { eventually } from '../helpers/replication-instances.js';

/** The README's picture; refreshed with UPDATE_SCREENSHOTS=1, so a plain test run leaves the tree clean. */
const SCREENSHOT = fileURLToPath(new URL('../../docs/console-replication.png', import.meta.url));
const LOOPBACK = /^(127\.\d+\.\d+\.\d+|localhost|\[::1\])$/;

describe('the Replication console page in Chromium', () => {
  it('shows each queue with its head item and last error; Retry and Resync work and need the CSRF token', async (t) => {
    const author = await startTestInstance(join(tempDir(), 'author'), { name: 'author-1' });
    t.after(() => author.stop());
    const publish = await startTestInstance(join(tempDir(), 'publish'), { name: 'publish-1' });
    t.after(() => publish.stop());
    await publish.services.users.createUser('replicator', { password: 'transport-pw', groups: ['replication-receivers'] });
    const { config, repo, users, clock } = author.services;
    await users.createGroup('editors');
    await users.createUser('alice', { password: 'alice-pw-correct-horse', groups: ['editors'] });
    await config.update('capsule.replication.agent~publish-1', { url: publish.url, 'transport.user': 'replicator', 'transport.password': 'transport-pw', 'retry.delay.seconds': 1 });
    await config.update('capsule.replication.agent~publish-2', { url: `http://127.0.0.9:${await freePort()}`, 'transport.user': 'replicator', 'transport.password': 'transport-pw', 'retry.delay.seconds': 60 });
    await eventually('publish-1 delivered and publish-2 blocked', async () => {
      const all = await replicationStatus({ repo, config, clock });
      return all.find((a) => a.name === 'publish-1' && a.lastDeliveredSequence > 0 && a.queued === 0) && all.find((a) => a.name === 'publish-2' && a.blockedSince);
    });
    await users.createUser('bob', { password: 'bob-pw-correct-horse' }); // waits in publish-2's queue

    const browser: Browser = await launchChromium();
    t.after(() => browser.close());
    const context = await browser.newContext({ viewport: { width: 1280, height: 720 } });
    const aborted: string[] = [];
    await context.route('**/*', (route) => {
      const url = new URL(route.request().url());
      if ((url.protocol === 'http:' || url.protocol === 'https:') && !LOOPBACK.test(url.hostname)) {
        aborted.push(url.origin);
        return route.abort();
      }
      return route.continue();
    });
    const page = await context.newPage();
    await loginThroughConsole(page, `${author.url}/system/console/replication`, 'admin', 'admin-password');
    await page.getByRole('link', { name: 'Replication' }).first().click();
    const blocked = page.locator('tr[data-agent="publish-2"]');
    assert.match(await blocked.innerText(), /blocked/i);
    assert.match(await blocked.innerText(), /unreachable/);
    assert.match(await blocked.innerText(), /package 1: /, 'the head item is named');
    assert.match(await page.locator('tr[data-agent="publish-1"]').innerText(), /\bok\b/i);
    const shot = await page.screenshot({ path: process.env.UPDATE_SCREENSHOTS ? SCREENSHOT : join(tempDir(), 'replication.png'), fullPage: true });
    assert.ok(shot.subarray(1, 4).toString() === 'PNG' && shot.length > 1000);

    const before = (await readAgentState(repo, 'publish-1'))!.lastDeliveredSequence;
    await page.locator('tr[data-agent="publish-1"]').getByRole('button', { name: 'Resync' }).click();
    assert.match(await page.locator('p.notice.ok').innerText(), /publish-1 gets everything again/);
    await eventually('the resync to be delivered', async () => (await readAgentState(repo, 'publish-1'))!.lastDeliveredSequence > before);

    await blocked.getByRole('button', { name: 'Retry' }).click();
    assert.match(await page.locator('p.notice.ok').innerText(), /publish-2's queue is sent again/);
    // Agents are configurations like any other: listed on the Configuration page, the password never in clear.
    await page.getByRole('link', { name: 'Configuration' }).first().click();
    const configuration = await page.content();
    assert.match(configuration, /Replication Agent/);
    assert.match(configuration, /capsule\.replication\.agent \(factory\)<\/td><td>2 configurations/);
    await page.goto(`${author.url}/system/console/configMgr?pid=capsule.replication.agent`);
    const form = await page.content();
    assert.match(form, /Transport password/);
    assert.ok(!form.includes('transport-pw'), 'the transport password is never shown');
    assert.deepEqual(aborted, []);

    // The same form without the CSRF token: refused, and nothing is requested.
    const token = await login(author.url, 'admin', 'admin-password');
    const forged = await fetch(`${author.url}/system/console/replication`, {
      method: 'POST',
      headers: { cookie: `login-token=${token}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ action: 'resync', name: 'publish-2' }),
    });
    assert.equal(forged.status, 403);
    assert.equal((await readAgentState(repo, 'publish-2'))!.resyncRequested, false);
  });
});
