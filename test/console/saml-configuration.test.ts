import assert from 'node:assert/strict';
import { createPrivateKey } from 'node:crypto';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { samlSettings } from '../../src/auth/saml/saml-config.js';
import { revealSpPrivateKey } from '../../src/auth/saml/sp-private-key.js';
import type { RunningInstance } from '../../src/instance/index.js';
import { launchChromium, loginThroughConsole } from '../helpers/browser.js';
import { startTestInstance } from '../helpers/homes.js';
import { tokenOf, withToken } from '../helpers/http.js';
import { base64, testIdp, type TestIdp } from '../helpers/saml-idp.js';
import { selfSigned } from '../helpers/self-signed.js';
import { tempDir } from '../helpers/temp.js';

/** The README's picture; refreshed with UPDATE_SCREENSHOTS=1, so a plain test run leaves the tree clean. */
const SCREENSHOT = fileURLToPath(new URL('../../docs/console-configmgr-saml.png', import.meta.url));
const PID = 'capsule.auth.saml~corp';
const FORM = '#cfg--capsule-auth-saml-corp';
const NEW_FORM = '#new--capsule-auth-saml';

// Who may open and post this form at all is the console's one rule, tested for every page in
// access.test.ts ('answers 403 to a user who is not an administrator, on GET and POST').
describe('a SAML identity provider in configMgr, in Chromium', () => {
  let instance: RunningInstance;
  let browser: Browser;
  let page: Page;
  let idp: TestIdp;
  const spKey = selfSigned({ commonName: 'capsule-test-sp' });
  const idpRollover = selfSigned({ commonName: 'capsule-test-idp-next' });

  before(async () => {
    [instance, browser] = await Promise.all([startTestInstance(join(tempDir(), 'home')), launchChromium()]);
    idp = testIdp({ entityId: `${instance.url}/saml`, acsUrl: `${instance.url}/system/sling/saml/corp/acs` });
    // As `capsule saml add` stores it: two IdP certificates (a rollover), the SP key protected.
    await instance.services.config.update(PID, {
      idpUrl: 'https://idp.example.test/sso',
      idpEntityId: idp.entityId,
      idpCert: [idp.keys.certificatePem, idpRollover.certificatePem],
      serviceProviderEntityId: `${instance.url}/saml`,
      allowIdpInitiated: true,
      spPrivateKey: spKey.privateKeyPem,
      spCertificate: spKey.certificatePem,
      title: 'Corporate SSO',
      groupMap: ['idp-editors=editors'],
    });
    page = await (await browser.newContext({ viewport: { width: 1100, height: 1500 } })).newPage();
    await loginThroughConsole(page, `${instance.url}/system/console/configMgr?pid=capsule.auth.saml`, 'admin', 'admin-password');
  });
  after(async () => {
    await browser?.close();
    await instance?.stop();
  });

  it("shows the AEM-named properties with their descriptions, the certificates readable, and never the SP key", async () => {
    const form = page.locator(FORM);
    for (const key of ['idpUrl', 'idpEntityId', 'idpCert', 'serviceProviderEntityId', 'assertionConsumerServiceURL', 'userIDAttribute', 'groupMembershipAttribute', 'defaultGroups', 'spPrivateKey']) {
      const field = form.locator(`[data-property="${key}"]`);
      assert.equal(await field.locator('.help code').textContent(), key);
      assert.ok(((await field.locator('.help').textContent()) ?? '').length > key.length + 10, `${key} has a description`);
    }
    assert.doesNotMatch((await form.locator('[data-property="defaultGroups"] .help').textContent()) ?? '', /default\s*[;)]/, 'an empty default is not named');
    const certificates = await form.getByLabel('IdP certificates').inputValue();
    assert.ok(certificates.includes(idp.keys.certificatePem.trim()) && certificates.includes(idpRollover.certificatePem.trim()), 'both PEM blocks, line breaks kept');
    assert.ok((await form.getByLabel('SP certificate').inputValue()).includes(spKey.certificatePem.trim()));

    assert.equal(await form.getByLabel('SP private key').inputValue(), '');
    assert.equal(await form.locator('[data-property="spPrivateKey"] .badge').textContent(), 'set');
    const content = await page.content();
    const stored = String(instance.services.config.stored(PID)?.spPrivateKey);
    assert.match(stored, /^\{cap1:/);
    const keyBody = spKey.privateKeyPem.split('\n')[1]!;
    assert.ok(!content.includes(keyBody) && !content.includes(stored) && !content.includes('PRIVATE KEY'), 'neither the key nor its protected form is on the page');
  });

  /** An IdP-initiated sign-in at the ACS: the groups of the session it opens. */
  async function signInGroups(): Promise<string[]> {
    const response = await fetch(`${instance.url}/system/sling/saml/corp/acs`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ SAMLResponse: base64(await idp.issue({ requestId: null, nameId: 'dana', groups: ['idp-editors'] })) }).toString(),
    });
    assert.equal(response.status, 303);
    const session = await fetch(`${instance.url}/api/session`, withToken(tokenOf(response)!));
    return ((await session.json()) as { groups: string[] }).groups.sort();
  }

  it('saves a changed default group; the certificates and the SP key stay as they were, and the next sign-in gets the group', async () => {
    assert.deepEqual(await signInGroups(), ['editors']);
    const before = instance.services.config.stored(PID)!;
    const form = page.locator(FORM);
    await form.getByLabel('Default groups').fill('staff, partners');
    const loaded = page.waitForEvent('load');
    await form.getByRole('button', { name: 'Save' }).click();
    await loaded;
    assert.match(page.url(), /saved=capsule\.auth\.saml~corp/, `not saved: ${await page.locator('.notice.error, .field .error').allTextContents()}`);
    assert.match((await page.locator('.notice.ok').textContent()) ?? '', /Saved capsule\.auth\.saml~corp/);

    const after = instance.services.config.stored(PID)!;
    assert.deepEqual(after, { ...before, defaultGroups: ['staff', 'partners'] }, 'only the default groups changed');
    const settings = samlSettings('corp', instance.services.config.current(PID));
    assert.equal(revealSpPrivateKey(settings, instance.services.crypto), spKey.privateKeyPem);
    assert.deepEqual(await signInGroups(), ['editors', 'partners', 'staff'], 'applied live');
    await page.screenshot({ path: process.env.UPDATE_SCREENSHOTS ? SCREENSHOT : join(tempDir(), 'console-configmgr-saml.png'), fullPage: true });
  });

  it('adds a provider with a pasted certificate and SP key, both usable', async () => {
    const other = selfSigned({ commonName: 'capsule-test-sp-2' });
    await page.goto(`${instance.url}/system/console/configMgr?pid=capsule.auth.saml`);
    await page.locator('#component--capsule-auth-saml').getByText('Add a configuration').click();
    const form = page.locator(NEW_FORM);
    await form.getByLabel('Name', { exact: true }).fill('partner');
    await form.getByLabel('IdP URL').fill('https://partner.example.test/sso');
    await form.getByLabel('IdP entity id').fill('urn:partner');
    await form.getByLabel('IdP certificates').fill(idp.keys.certificatePem);
    await form.getByLabel('SP entity id').fill('https://www.example.test/saml/partner');
    await form.getByLabel('SP private key').fill(other.privateKeyPem);
    const loaded = page.waitForEvent('load');
    await form.getByRole('button', { name: 'Add' }).click();
    await loaded;
    assert.match(page.url(), /saved=capsule\.auth\.saml~partner/, `not saved: ${await page.locator('.notice.error, .field .error').allTextContents()}`);

    const settings = samlSettings('partner', instance.services.config.current('capsule.auth.saml~partner'));
    assert.deepEqual(settings.idpCertificates, [idp.keys.certificatePem.trim()]);
    const key = revealSpPrivateKey(settings, instance.services.crypto);
    assert.ok(createPrivateKey(key).equals(other.privateKey), 'the pasted key is the key');
  });
});
