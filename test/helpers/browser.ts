import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

/** Debian's Chromium; a browser is never downloaded. */
export const CHROMIUM_PATH = '/usr/bin/chromium';

export const LOOPBACK = /^(127\.\d+\.\d+\.\d+|localhost|\[::1\])$/;

/**
 * A fresh browser profile that never reaches past this machine: any http(s) request to another
 * host is aborted, and its origin is pushed to `aborted` when given (a test may assert none was).
 */
export async function loopbackContext(
  browser: Browser,
  options: { viewport?: { width: number; height: number }; aborted?: string[]; userAgent?: string; extraHTTPHeaders?: Record<string, string> } = {},
): Promise<BrowserContext> {
  const created = await browser.newContext({ viewport: options.viewport ?? { width: 1000, height: 700 }, userAgent: options.userAgent, extraHTTPHeaders: options.extraHTTPHeaders });
  await created.route('**/*', (route) => {
    const url = new URL(route.request().url());
    if ((url.protocol === 'http:' || url.protocol === 'https:') && !LOOPBACK.test(url.hostname)) {
      options.aborted?.push(url.origin);
      return route.abort();
    }
    return route.continue();
  });
  return created;
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
  });
}

/** Opens a console page, meets its login form, logs in there, and lands back on the page. */
export async function loginThroughConsole(page: Page, url: string, user: string, password: string): Promise<void> {
  await page.goto(url);
  await page.getByLabel('User').fill(user);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.waitForLoadState();
}
