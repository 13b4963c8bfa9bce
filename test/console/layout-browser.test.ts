import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import type { RunningInstance } from '../../src/instance/index.js';
import { agentPid } from '../../src/replication/index.js';
import { launchChromium, loginThroughConsole, loopbackContext } from '../helpers/browser.js';
import { startTestInstance } from '../helpers/homes.js';
import { tempDir } from '../helpers/temp.js';

// Every console page in Chromium on a laptop (1280 px) and a phone (390 px): nothing wider than the
// window, every tab of the navigation on screen and clickable, ids and paths in cards wrapped only
// between words or at separators (never mid-word), and the Components page showing the agents' checks.

const PAGES = [
  '/system/console/configMgr',
  '/system/console/components',
  '/system/console/healthcheck',
  '/system/console/crypto',
  '/system/console/users',
  '/system/console/replication',
  '/crx/de?path=%2Fhome%2Fusers',
];
const VIEWPORTS = [
  { width: 1280, height: 800 },
  { width: 390, height: 844 },
];
const AGENT = 'publish-frankfurt-zone-b-1';

/**
 * Where a line of an id or path in a card breaks between two letters or digits: each character's
 * line (its box's top) is read from the DOM, and a line that changes between two alphanumerics with
 * no space, <br>, <wbr> or separator between them is a word split in two.
 */
function midWordBreaks(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const found: string[] = [];
    const alnum = /^[A-Za-z0-9]$/;
    for (const element of Array.from(document.querySelectorAll('.card code, .card .mono, .card .pid'))) {
      let previous: { char: string; top: number } | null = null;
      const walker = document.createTreeWalker(element, NodeFilter.SHOW_TEXT | NodeFilter.SHOW_ELEMENT);
      for (let node = walker.nextNode(); node; node = walker.nextNode()) {
        if (node.nodeType === Node.ELEMENT_NODE) {
          // A line break, or a break opportunity the page offers on purpose (after a separator, between groups).
          if ((node as Element).tagName === 'BR' || (node as Element).tagName === 'WBR') previous = null;
          continue;
        }
        const text = node.textContent ?? '';
        for (let index = 0; index < text.length; index++) {
          const char = text[index]!;
          if (/\s/.test(char)) {
            previous = null;
            continue;
          }
          const range = document.createRange();
          range.setStart(node, index);
          range.setEnd(node, index + 1);
          const rect = range.getClientRects()[0];
          if (!rect) continue;
          if (previous && Math.abs(rect.top - previous.top) > rect.height / 2 && alnum.test(previous.char) && alnum.test(char)) {
            found.push(`${element.textContent?.trim()} (between '${previous.char}' and '${char}')`);
          }
          previous = { char, top: rect.top };
        }
      }
    }
    return found;
  });
}

describe('the console in Chromium at 1280 px and 390 px', () => {
  let instance: RunningInstance;
  let browser: Browser;

  before(async () => {
    [instance, browser] = await Promise.all([startTestInstance(join(tempDir(), 'a-home-folder-with-a-rather-long-name'), { name: 'author-1' }), launchChromium()]);
    const { config, users } = instance.services;
    await users.createGroup('content-authors-frankfurt');
    await users.createUser('alice.longname-example', { password: 'alice-pw-correct-horse', groups: ['content-authors-frankfurt'] });
    await config.update('capsule.oauth.client~analytics-reporting', { 'token.endpoint': 'http://127.0.0.1:9/ims/token/v3/exchange', 'client.id': 'analytics-reporting-client-0123456789', 'client.secret': 'sample-client-secret', scope: 'read' });
    // A publish that is down (a closed loopback port): the agent's check has something to say.
    await config.update(agentPid(AGENT), { url: 'http://127.0.0.1:9/publishers/frankfurt', 'transport.user': 'replicator', 'transport.password': 'transport-pw' });
    await instance.health.run();
  });
  after(async () => {
    await browser?.close();
    await instance?.stop();
  });

  for (const viewport of VIEWPORTS) {
    it(`${viewport.width} px: no page is wider than the window, every tab is on screen and clickable, no id or path breaks mid-word`, { timeout: 120_000 }, async () => {
      const context = await loopbackContext(browser, { viewport });
      const page = await context.newPage();
      await loginThroughConsole(page, `${instance.url}/system/console/configMgr`, 'admin', 'admin-password');
      const problems: string[] = [];
      for (const path of PAGES) {
        const response = await page.goto(`${instance.url}${path}`);
        assert.equal(response?.status(), 200, path);
        const { scrollWidth, clientWidth } = await page.evaluate(() => ({ scrollWidth: document.documentElement.scrollWidth, clientWidth: document.documentElement.clientWidth }));
        if (scrollWidth > clientWidth) problems.push(`${path}: the page is ${scrollWidth} px wide in a ${clientWidth} px window`);
        const tabs = page.locator('nav.main a');
        assert.equal(await tabs.count(), 7, path);
        for (const tab of await tabs.all()) {
          const label = (await tab.textContent()) ?? '';
          const box = await tab.boundingBox();
          if (!box || box.x < 0 || box.x + box.width > clientWidth) problems.push(`${path}: the tab ${label} is not within the window (${JSON.stringify(box)})`);
          else await tab.click({ trial: true, timeout: 5_000 });
        }
        for (const split of await midWordBreaks(page)) problems.push(`${path}: split mid-word: ${split}`);
      }
      await context.close();
      assert.deepEqual(problems, []);
    });
  }

  it("the Components page shows each replication agent's health check", async () => {
    const context = await loopbackContext(browser, { viewport: { width: 1280, height: 800 } });
    const page = await context.newPage();
    await loginThroughConsole(page, `${instance.url}/system/console/components`, 'admin', 'admin-password');
    const row = page.locator('section.card', { hasText: 'Replication Agent' }).locator('tbody tr', { hasText: AGENT });
    assert.equal(await row.count(), 1);
    const health = row.locator('td').nth(2);
    const check = instance.health.summary().checks.find((result) => result.name === `replication.agent.${AGENT}`);
    assert.ok(check, 'the agent has a health check');
    assert.equal(await health.locator('.badge').textContent(), check.status);
    assert.ok(((await health.textContent()) ?? '').includes(check.message), 'the check message is shown');
    await context.close();
  });
});
