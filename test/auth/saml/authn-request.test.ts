import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { validateSamlResponse } from '../../../src/auth/saml/acs.js';
import { beginSamlRequest } from '../../../src/auth/saml/authn-request.js';
import { isSamlLoginError } from '../../../src/auth/saml/saml-login-error.js';
import { isCapsuleError } from '../../../src/errors.js';
import { base64, freshOptions, NAMEID_PERSISTENT, settingsTrusting, TEST_SP, testIdp } from '../../helpers/saml-idp.js';
import { selfSigned } from '../../helpers/self-signed.js';

const SP = TEST_SP;
const idp = testIdp(SP);
const spKeys = selfSigned({ commonName: 'capsule-test-sp' });

function settings(values: Record<string, string | boolean> = {}) {
  return settingsTrusting(idp, values);
}

describe('the AuthnRequest that starts an SP-initiated sign-in', () => {
  it('goes to the IdP URL and names this SP, its ACS URL and the NameID format; its id and instant are handed back', async () => {
    const before = Date.now();
    const { url, request } = await beginSamlRequest(settings(), { acsUrl: SP.acsUrl, signingKey: null });
    assert.ok(url.startsWith('https://idp.example.test/sso?SAMLRequest='));
    assert.match(request.id, /^_[0-9a-f]{40}$/);
    assert.ok(request.issuedAt.getTime() >= before - 1000 && request.issuedAt.getTime() <= Date.now() + 1000);
    const received = await idp.receiveRequest(url);
    assert.equal(received.id, request.id);
    assert.ok(received.xml.includes(`AssertionConsumerServiceURL="${SP.acsUrl}"`));
    assert.ok(received.xml.includes(`>${SP.entityId}</saml:Issuer>`));
    assert.ok(received.xml.includes(`Format="${NAMEID_PERSISTENT}"`));
    assert.ok(!received.xml.includes('RequestedAuthnContext'), 'no exact AuthnContext is asked for');
  });

  it('gives a new id each time', async () => {
    const first = await beginSamlRequest(settings(), { acsUrl: SP.acsUrl, signingKey: null });
    const second = await beginSamlRequest(settings(), { acsUrl: SP.acsUrl, signingKey: null });
    assert.notEqual(first.request.id, second.request.id);
  });

  it('is signed with RSA-SHA256 when signRequests is on, and the IdP verifies it with the SP certificate (not with another)', async () => {
    const { url } = await beginSamlRequest(settings({ signRequests: true }), { acsUrl: SP.acsUrl, signingKey: spKeys.privateKeyPem });
    assert.equal(new URL(url).searchParams.get('SigAlg'), 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256');
    await idp.receiveRequest(url, spKeys.certificatePem);
    await assert.rejects(idp.receiveRequest(url, selfSigned().certificatePem));
  });

  it('refuses to start when requests are to be signed and no SP key is configured', async () => {
    await assert.rejects(beginSamlRequest(settings({ signRequests: true }), { acsUrl: SP.acsUrl, signingKey: null }), (error) => isCapsuleError(error, 'INVALID_CONFIG'));
  });

  it('binds the response: the request state handed back is the one the ACS accepts, and only for its own answer', async () => {
    const mine = await beginSamlRequest(settings(), { acsUrl: SP.acsUrl, signingKey: null });
    const others = await beginSamlRequest(settings(), { acsUrl: SP.acsUrl, signingKey: null });
    const xml = await idp.issue({ requestId: (await idp.receiveRequest(mine.url)).id });
    const check = (request: typeof mine.request) =>
      validateSamlResponse(settings(), { samlResponse: base64(xml), acsUrl: SP.acsUrl, request }, freshOptions(null));
    assert.equal((await check(mine.request)).nameId, 'alice');
    await assert.rejects(check(others.request), (error) => isSamlLoginError(error, 'in-response-to'));
    const stale = { id: mine.request.id, issuedAt: new Date(Date.now() - 700_000) };
    await assert.rejects(check(stale), (error) => isSamlLoginError(error, 'in-response-to'));
  });
});
