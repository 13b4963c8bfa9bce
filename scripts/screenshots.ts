/**
 * Saves a screenshot of every console page under docs/ (for the README): starts an instance in
 * a temporary home with a little sample data, logs in with Debian's Chromium, and takes PNGs.
 *
 *   npm run screenshots
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { startInstance } from '../src/instance/index.js';

const ADMIN_PASSWORD = 'screenshot-admin-password';
const DOCS = fileURLToPath(new URL('../docs/', import.meta.url));
const PAGES: ReadonlyArray<{ file: string; path: string }> = [
  { file: 'console-configmgr.png', path: '/system/console/configMgr' },
  { file: 'console-components.png', path: '/system/console/components' },
  { file: 'console-healthcheck.png', path: '/system/console/healthcheck' },
  { file: 'console-crypto.png', path: '/system/console/crypto' },
  { file: 'console-users.png', path: '/system/console/users' },
  { file: 'console-crxde.png', path: '/crx/de?path=%2Fhome%2Fusers%2Fa%2Falice' },
  { file: 'console-replication.png', path: '/system/console/replication' },
];

/** A stand-in OAuth provider, so the sample client's health check is green. */
async function startTokenEndpoint(): Promise<{ url: string; close: () => void }> {
  const server = createServer((_request, response) => {
    response.setHeader('content-type', 'application/json');
    response.end(JSON.stringify({ access_token: 'sample-access-token', token_type: 'Bearer', expires_in: 3599 }));
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/ims/token/v3`, close: () => server.close() };
}

async function main(): Promise<void> {
  const home = mkdtempSync(join(tmpdir(), 'capsule-screenshots-'));
  const tokenEndpoint = await startTokenEndpoint();
  const instance = await startInstance({ home, port: 0, name: 'author-1', env: { CAPSULE_ADMIN_PASSWORD: ADMIN_PASSWORD } });
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
  });
  try {
    const { users, config, repo } = instance.services;
    await users.createGroup('editors');
    await users.createUser('alice', { password: 'alice-password', groups: ['editors'] });
    await users.createUser('bob', { password: 'bob-password' });
    await users.setDisabled('bob', true);
    await repo.addNode('/content/site', { properties: { title: 'Welcome' } });
    await config.update('capsule.auth.token', { 'token.encapsulated': true });
    await config.update('capsule.oauth.client~analytics', {
      'token.endpoint': tokenEndpoint.url,
      'client.id': 'analytics-client',
      'client.secret': 'sample-client-secret',
      scope: 'read',
    });
    // An agent whose publish is down (a closed loopback port), so the page shows a blocked queue.
    await config.update('capsule.replication.agent~publish-1', {
      url: 'http://127.0.0.1:4599',
      'transport.user': 'replicator',
      'transport.password': 'sample-transport-password',
      enabled: true,
    });
    await users.createUser('carol', { password: 'carol-password' });
    // A provider for the login page's "Sign in with …" link (its discovery is not needed to show it).
    await config.update('capsule.auth.oidc~corp', {
      issuer: 'http://127.0.0.1:4598',
      'client.id': 'capsule',
      'client.secret': 'sample-oidc-secret',
      title: 'Corporate login',
    });
    await new Promise((resolve) => setTimeout(resolve, 1500)); // the agent tries once and records why it failed
    await instance.health.run();

    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    // Nothing leaves this machine.
    await page.route('**', (route) => (/^https?:\/\/(127\.\d+\.\d+\.\d+|localhost)(:|\/)/.test(route.request().url()) ? route.continue() : route.abort()));
    await page.goto(`${instance.url}/system/sling/login`);
    await page.screenshot({ path: join(DOCS, 'login-page.png'), fullPage: true });
    console.log('docs/login-page.png');
    await page.goto(`${instance.url}/system/console/configMgr`);
    await page.getByLabel('User').fill('admin');
    await page.getByLabel('Password').fill(ADMIN_PASSWORD);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.waitForURL(/configMgr$/);
    mkdirSync(DOCS, { recursive: true });
    for (const { file, path } of PAGES) {
      await page.goto(`${instance.url}${path}`);
      await page.screenshot({ path: join(DOCS, file), fullPage: true });
      console.log(`docs/${file}`);
    }
  } finally {
    await browser.close();
    await instance.stop();
    tokenEndpoint.close();
    rmSync(home, { recursive: true, force: true });
  }
}

await main();
