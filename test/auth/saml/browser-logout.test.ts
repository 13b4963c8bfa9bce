import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import type { RunningInstance } from '../../../src/instance/index.js';
import { launchChromium, loopbackContext } from '../../helpers/browser.js';
import { withToken } from '../../helpers/http.js';
import { startLoggedInstance } from '../../helpers/oidc-instances.js';
import { capsuleSettingsFor, simpleSamlPhpUnavailable, startSimpleSamlPhp, type SimpleSamlPhp } from '../../helpers/simplesamlphp.js';
import { tempDir } from '../../helpers/temp.js';


// Single logout through a real IdP on another site: Capsule's logout is a form POST from a page
// whose CSP says form-action 'self', so the way to the IdP must be a new navigation (the page on
// the way), and the IdP's answer comes back by redirect; only a browser shows that both work.
describe('SAML single logout in Chromium, with SimpleSAMLphp on another site', { skip: simpleSamlPhpUnavailable() }, () => {
  let instance: RunningInstance;
  let idp: SimpleSamlPhp;
  let browser: Browser;

  const context = (): Promise<BrowserContext> => loopbackContext(browser);

  /** Signs in from the login page with the IdP's password form; the login token. */
  async function signIn(page: Page): Promise<string> {
    await page.goto(`${instance.url}/system/sling/login`);
    await page.getByRole('link', { name: 'Sign in with University login' }).click();
    await page.waitForURL((url) => url.origin === idp.baseUrl);
    await page.locator('#username').fill('dana');
    await page.locator('#password').fill('dana-pass-correct-horse');
    await page.locator('#submit_button').click();
    await page.getByText('You are signed in as').waitFor();
    const token = (await page.context().cookies(instance.url)).find((cookie) => cookie.name === 'login-token')?.value;
    assert.ok(token);
    assert.equal(await sessionStatus(token), 200);
    return token;
  }

  async function sessionStatus(token: string): Promise<number> {
    const response = await fetch(`${instance.url}/api/session`, withToken(token));
    await response.body?.cancel();
    return response.status;
  }

  before(async () => {
    [{ instance }, browser] = await Promise.all([startLoggedInstance(join(tempDir(), 'home'), 'publish-1'), launchChromium()]);
    const sp = { entityId: `${instance.url}/saml`, acsUrl: `${instance.url}/system/sling/saml/shib/acs`, sloUrl: `${instance.url}/system/sling/saml/shib/slo` };
    idp = await startSimpleSamlPhp({ users: [{ username: 'dana', password: 'dana-pass-correct-horse', attributes: { uid: 'dana', groups: ['idp-editors'] } }], sp });
    await instance.services.config.update('capsule.auth.saml~shib', capsuleSettingsFor(idp, sp.entityId, { title: 'University login', handleLogout: true, logoutUrl: idp.sloUrl }));
  });
  after(async () => {
    await browser?.close();
    await idp?.stop();
    await instance?.stop();
  });

  it("signing out at Capsule signs out at the IdP too, and comes back to Capsule's login page", async () => {
    const page = await (await context()).newPage();
    const blocked: string[] = [];
    page.on('console', (message) => {
      if (/Content Security Policy|violates/i.test(message.text())) blocked.push(message.text());
    });
    const token = await signIn(page);

    const visitedIdpLogout = page.waitForRequest((request) => request.url().startsWith(`${idp.sloUrl}?SAMLRequest=`));
    await page.getByRole('button', { name: 'Sign out' }).click();
    await visitedIdpLogout;
    await page.waitForURL(`${instance.url}/system/sling/login?j_notice=signed_out`);
    await page.getByText('You are signed out, here and at your identity provider.').waitFor();
    assert.deepEqual(blocked, [], 'no CSP refusal on the way');
    assert.equal(await sessionStatus(token), 401, 'the token no longer works');

    // The IdP session ended: signing in again asks for the password.
    await page.getByRole('link', { name: 'Sign in with University login' }).click();
    await page.waitForURL((url) => url.origin === idp.baseUrl);
    await page.locator('#password').waitFor();
  });

  it("a logout started at the IdP ends the person's token here", async () => {
    const page = await (await context()).newPage();
    const token = await signIn(page);
    // SimpleSAMLphp's IdP-initiated logout: a signed LogoutRequest to each SP the person signed in to, by redirect.
    const answered = page.waitForResponse((response) => response.url().startsWith(`${instance.url}/system/sling/saml/shib/slo?SAMLRequest=`));
    // ReturnTo on the IdP's own site: SimpleSAMLphp sends the browser only to sites it trusts (trusted.url.domains).
    const returnTo = `${idp.baseUrl}/saml2/idp/metadata.php?output=xhtml`;
    await page.goto(`${idp.baseUrl}/saml2/idp/SingleLogoutService.php?ReturnTo=${encodeURIComponent(returnTo)}`);
    assert.equal((await answered).status(), 302, 'Capsule answered with a LogoutResponse');
    await page.waitForURL(returnTo);
    assert.equal(await sessionStatus(token), 401);
  });
});
