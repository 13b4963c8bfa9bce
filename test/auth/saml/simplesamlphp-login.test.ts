import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { RunningInstance } from '../../../src/instance/index.js';
import { tokenOf, withToken } from '../../helpers/http.js';
import { startLoggedInstance } from '../../helpers/oidc-instances.js';
import { selfSigned } from '../../helpers/self-signed.js';
import { capsuleSettingsFor, signInAtIdp, simpleSamlPhpUnavailable, startSimpleSamlPhp, type IdpSignIn, type SamlTestUser, type SimpleSamlPhp } from '../../helpers/simplesamlphp.js';
import { tempDir } from '../../helpers/temp.js';

const USERS: readonly SamlTestUser[] = [{ username: 'alice', password: 'alice-pass-correct-horse', attributes: { uid: 'alice', groups: ['idp-editors', 'administrators'] } }];
const STATE_COOKIE = '__Host-capsule-saml-state';

// A real, independent IdP (Debian's SimpleSAMLphp on 127.0.0.2) signing a person in to a started
// instance (on 127.0.0.1: another site, as in production). The browser is played with fetch:
// Capsule's redirect, the IdP's login form, the IdP's form posted to Capsule's ACS.
describe('single sign-on through SimpleSAMLphp', { skip: simpleSamlPhpUnavailable() }, () => {
  let instance: RunningInstance;
  let idp: SimpleSamlPhp;
  let sp: { entityId: string; acsUrl: string };
  const spKeys = selfSigned({ commonName: 'capsule-sp' });
  before(async () => {
    ({ instance } = await startLoggedInstance(join(tempDir(), 'home'), 'a'));
    sp = { entityId: `${instance.url}/saml`, acsUrl: `${instance.url}/system/sling/saml/shib/acs` };
    idp = await startSimpleSamlPhp({ users: USERS, sp });
    await instance.services.config.update('capsule.auth.saml~shib', capsuleSettingsFor(idp, sp.entityId));
  });
  after(async () => {
    await idp?.stop();
    await instance?.stop();
  });

  /** Capsule's login redirect, the sign-in at the IdP, and the IdP's form posted to the ACS from the IdP's site. */
  async function signIn(resource: string): Promise<{ atIdp: IdpSignIn; response: Response }> {
    const start = await fetch(`${instance.url}/system/sling/saml/shib/login?resource=${encodeURIComponent(resource)}`, { redirect: 'manual' });
    assert.equal(start.status, 302);
    const cookie = start.headers.getSetCookie().find((line) => line.startsWith(`${STATE_COOKIE}=`))!.split(';')[0]!;
    const atIdp = await signInAtIdp(start.headers.get('location')!, { username: 'alice', password: 'alice-pass-correct-horse' });
    assert.ok(atIdp.samlResponse, atIdp.html);
    assert.equal(atIdp.acsUrl, sp.acsUrl);
    const response = await fetch(atIdp.acsUrl!, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: idp.baseUrl, cookie },
      body: new URLSearchParams({ SAMLResponse: atIdp.samlResponse, RelayState: atIdp.relayState ?? '' }).toString(),
    });
    return { atIdp, response };
  }

  async function sessionOf(response: Response): Promise<{ userId: string; groups: string[] }> {
    const token = tokenOf(response);
    assert.ok(token, 'the login cookie is set');
    const session = await fetch(`${instance.url}/api/session`, withToken(token));
    assert.equal(session.status, 200);
    return (await session.json()) as { userId: string; groups: string[] };
  }

  it('signs alice in, with her mapped groups only', async () => {
    const { response } = await signIn('/api/session');
    assert.equal(response.status, 303, await response.clone().text());
    assert.equal(response.headers.get('location'), '/api/session');
    const session = await sessionOf(response);
    assert.equal(session.userId, 'alice');
    assert.deepEqual(session.groups, ['editors']);
  });

  it('signs in with a signed AuthnRequest and an assertion encrypted to the SP key', async () => {
    idp.setServiceProvider({ ...sp, certPem: spKeys.certificatePem, wantSignedRequests: true, encryptAssertions: true });
    await instance.services.config.update('capsule.auth.saml~shib', {
      spPrivateKey: spKeys.privateKeyPem,
      spCertificate: spKeys.certificatePem,
      signRequests: true,
      wantEncryptedAssertions: true,
    });
    const { response } = await signIn('/content/home.html');
    assert.equal(response.status, 303, await response.clone().text());
    assert.equal(response.headers.get('location'), '/content/home.html');
    assert.equal((await sessionOf(response)).userId, 'alice');
  });
});
