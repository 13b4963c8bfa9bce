import assert from 'node:assert/strict';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import type { Browser, BrowserContext } from 'playwright-core';
import type { RunningInstance } from '../../../src/instance/index.js';
import { launchChromium, LOOPBACK, loopbackContext } from '../../helpers/browser.js';
import { startLoggedInstance } from '../../helpers/oidc-instances.js';
import { testIdp } from '../../helpers/saml-idp.js';
import { capsuleSettingsFor, simpleSamlPhpUnavailable, startSimpleSamlPhp, type SimpleSamlPhp } from '../../helpers/simplesamlphp.js';
import { tempDir } from '../../helpers/temp.js';

/** The README's picture; refreshed with UPDATE_SCREENSHOTS=1, so a plain test run leaves the tree clean. */
const SCREENSHOT = fileURLToPath(new URL('../../../docs/saml-login-page.png', import.meta.url));

describe('the login page with a SAML and an OpenID Connect provider, in Chromium', () => {
  let instance: RunningInstance;
  let browser: Browser;
  const IDP_URL = 'https://idp.example.test/sso';

  before(async () => {
    [{ instance }, browser] = await Promise.all([startLoggedInstance(join(tempDir(), 'home'), 'publish-1'), launchChromium()]);
    const idp = testIdp({ entityId: `${instance.url}/saml`, acsUrl: `${instance.url}/system/sling/saml/shib/acs` });
    await instance.services.config.update('capsule.auth.saml~shib', {
      idpUrl: IDP_URL,
      idpEntityId: idp.entityId,
      idpCert: [idp.keys.certificatePem],
      serviceProviderEntityId: `${instance.url}/saml`,
      title: 'University login',
    });
    // The button is drawn from the configuration alone: the issuer is never fetched here.
    await instance.services.config.update('capsule.auth.oidc~corp', { issuer: 'http://127.0.0.1:9', 'client.id': 'capsule', 'client.secret': 'sample-oidc-secret', title: 'Corporate login' });
  });
  after(async () => {
    await browser?.close();
    await instance?.stop();
  });

  it('shows "Sign in with <title>" for each beside the password form; the SAML one sends an AuthnRequest to the IdP', async () => {
    const page = await (await browser.newContext({ viewport: { width: 1000, height: 700 } })).newPage();
    const atIdp: string[] = [];
    // The IdP is on another site: its answer is made here, and nothing leaves this machine.
    await page.route('**/*', (route) => {
      const url = route.request().url();
      if (url.startsWith(`${IDP_URL}?`)) {
        atIdp.push(url);
        return route.fulfill({ status: 200, contentType: 'text/html', body: '<title>IdP</title><p>the identity provider</p>' });
      }
      return LOOPBACK.test(new URL(url).hostname) ? route.continue() : route.abort();
    });
    await page.goto(`${instance.url}/system/sling/login?resource=/api/session`);
    const saml = page.getByRole('link', { name: 'Sign in with University login' });
    assert.ok(await saml.isVisible());
    assert.ok(await page.getByRole('link', { name: 'Sign in with Corporate login' }).isVisible());
    assert.ok(await page.getByLabel('User').isVisible(), 'the password form is there too');
    const shot = await page.screenshot({ path: process.env.UPDATE_SCREENSHOTS ? SCREENSHOT : join(tempDir(), 'saml-login-page.png') });
    assert.ok(shot.subarray(1, 4).toString() === 'PNG' && shot.length > 1000);

    await saml.click();
    await page.waitForURL((url) => url.href.startsWith(IDP_URL));
    const authnRequest = new URL(atIdp[0]!).searchParams.get('SAMLRequest');
    assert.ok(authnRequest, 'an AuthnRequest on the HTTP-Redirect binding');
    assert.ok((await page.context().cookies()).some((cookie) => cookie.name === '__Host-capsule-saml-state'), 'the login state is kept for the answer');
  });
});

// The IdP (SimpleSAMLphp on 127.0.0.2) posts the response to the ACS (Capsule on 127.0.0.1) from
// another site, as every real IdP does: the login state cookie must go along with that POST
// (SameSite=None; Secure: routes/saml.ts says why), which only a real browser shows.
describe('SAML single sign-on in Chromium, through SimpleSAMLphp on another site', { skip: simpleSamlPhpUnavailable() }, () => {
  let instance: RunningInstance;
  let idp: SimpleSamlPhp;
  let browser: Browser;

  const context = (): Promise<BrowserContext> => loopbackContext(browser);

  before(async () => {
    [{ instance }, browser] = await Promise.all([startLoggedInstance(join(tempDir(), 'home'), 'publish-1'), launchChromium()]);
    const sp = { entityId: `${instance.url}/saml`, acsUrl: `${instance.url}/system/sling/saml/shib/acs` };
    idp = await startSimpleSamlPhp({ users: [{ username: 'dana', password: 'dana-pass-correct-horse', attributes: { uid: 'dana', groups: ['idp-editors'] } }], sp });
    await instance.services.config.update('capsule.auth.saml~shib', capsuleSettingsFor(idp, sp.entityId, { title: 'University login' }));
  });
  after(async () => {
    await browser?.close();
    await idp?.stop();
    await instance?.stop();
  });

  it('signs in from the login page button and lands on the resource', async () => {
    const page = await (await context()).newPage();
    await page.goto(`${instance.url}/system/sling/login?resource=/api/session`);
    await page.getByRole('link', { name: 'Sign in with University login' }).click();
    await page.waitForURL((url) => url.origin === idp.baseUrl);
    // All cookies: Playwright's filter by URL leaves out Secure cookies of an http URL, which Chromium does send to loopback.
    const state = (await page.context().cookies()).find((cookie) => cookie.name === '__Host-capsule-saml-state');
    assert.ok(state, 'Chromium kept the login state cookie from http://127.0.0.1');
    assert.equal(state.sameSite, 'None');
    assert.ok(state.secure && state.httpOnly);

    await page.locator('#username').fill('dana');
    await page.locator('#password').fill('dana-pass-correct-horse');
    await page.locator('#submit_button').click();
    await page.waitForURL(`${instance.url}/api/session`);
    const session = JSON.parse((await page.locator('body').textContent()) ?? '{}') as { userId: string; groups: string[] };
    assert.equal(session.userId, 'dana');
    assert.deepEqual(session.groups, ['editors']);
    const cookies = await page.context().cookies(instance.url);
    assert.ok(cookies.find((cookie) => cookie.name === 'login-token')?.httpOnly);
    assert.equal((await page.context().cookies()).find((cookie) => cookie.name === '__Host-capsule-saml-state'), undefined, 'the login state is gone');
  });
});
