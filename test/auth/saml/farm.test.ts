import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { RunningInstance } from '../../../src/instance/index.js';
import { runCliInProcess } from '../../helpers/cli.js';
import { tokenOf, withToken } from '../../helpers/http.js';
import { startLoggedInstance } from '../../helpers/oidc-instances.js';
import { base64, testIdp, type TestIdp } from '../../helpers/saml-idp.js';
import { tempDir } from '../../helpers/temp.js';

const PASS = { CAPSULE_KEYS_PASSPHRASE: 'correct horse battery staple' };

function claimsOf(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as Record<string, unknown>;
}

// The provisioning claim of a SAML sign-in goes through the same seam as OpenID's: a member with
// the same keys and the same provider creates the user on the token's first request; a member
// without the provider does not.
describe('SAML single sign-on on a farm with encapsulated tokens', () => {
  const instances = {} as Record<'a' | 'b' | 'other', RunningInstance>;
  let idp: TestIdp;
  let acsUrl: string;

  before(async () => {
    const root = tempDir();
    instances.a = (await startLoggedInstance(join(root, 'a'), 'a')).instance;
    const bundle = join(root, 'keys.bundle');
    assert.equal((await runCliInProcess(['keys', 'export', '--out', bundle, '--home', instances.a.services.home.root], { env: PASS })).code, 0);
    for (const name of ['b', 'other'] as const) {
      assert.equal((await runCliInProcess(['keys', 'import', '--in', bundle, '--home', join(root, name)], { env: PASS })).code, 0);
      instances[name] = (await startLoggedInstance(join(root, name), name)).instance;
    }
    acsUrl = `${instances.a.url}/system/sling/saml/corp/acs`;
    idp = testIdp({ entityId: 'https://www.example.test/saml', acsUrl });
    for (const [name, instance] of Object.entries(instances)) {
      await instance.services.config.update('capsule.auth.token', { 'token.encapsulated': true });
      if (name === 'other') continue; // does not trust this IdP
      await instance.services.config.update('capsule.auth.saml~corp', {
        idpUrl: 'http://127.0.0.2:9/sso',
        idpEntityId: idp.entityId,
        idpCert: [idp.keys.certificatePem],
        serviceProviderEntityId: 'https://www.example.test/saml',
        groupMap: ['idp-editors=editors'],
        defaultGroups: ['staff'],
      });
    }
  });
  after(() => Promise.all(Object.values(instances).map((instance) => instance.stop())));

  async function signInAtA(nameId: string): Promise<string> {
    const start = await fetch(`${instances.a.url}/system/sling/saml/corp/login`, { redirect: 'manual' });
    const cookie = start.headers.getSetCookie().find((line) => line.startsWith('__Host-capsule-saml-state='))!.split(';')[0]!;
    const request = await idp.receiveRequest(start.headers.get('location')!);
    const response = await fetch(acsUrl, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded', cookie },
      body: new URLSearchParams({ SAMLResponse: base64(await idp.issue({ requestId: request.id, nameId, groups: ['idp-editors'] })) }).toString(),
    });
    assert.equal(response.status, 303);
    const token = tokenOf(response);
    assert.ok(token);
    return token;
  }

  it('a member that has never seen the user accepts the token at once, with the groups; one without the provider refuses it', async () => {
    const token = await signInAtA('frank');
    assert.ok(token.length < 1024, `token of ${token.length} bytes`);
    const prv = claimsOf(token).prv as { p: string; s: string; g: string[] };
    assert.deepEqual({ p: prv.p, s: prv.s, g: prv.g }, { p: 'corp', s: 'frank', g: ['editors', 'staff'] });

    assert.equal(await instances.b.services.users.getUser('frank'), null);
    const atB = await fetch(`${instances.b.url}/api/session`, withToken(token));
    assert.equal(atB.status, 200);
    assert.deepEqual(((await atB.json()) as { groups: string[] }).groups, ['editors', 'staff']);
    assert.deepEqual((await instances.b.services.users.getUser('frank'))?.groups, ['editors', 'staff']);

    const atOther = await fetch(`${instances.other.url}/api/session`, withToken(token));
    assert.equal(atOther.status, 401);
    assert.equal(await instances.other.services.users.getUser('frank'), null);
  });
});
