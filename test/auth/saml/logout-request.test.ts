import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkRedirectMessage } from '../../../src/auth/saml/logout-request.js';
import { readRedirectMessage } from '../../../src/auth/saml/logout-message.js';
import { samlSettings } from '../../../src/auth/saml/saml-config.js';
import { testIdp } from '../../helpers/saml-idp.js';

const SP = 'https://sp.example/saml';
const SLO_URL = 'https://sp.example/system/sling/saml/corp/slo';

describe("node-saml's check of a logout message counted as signed", () => {
  const idp = testIdp({ entityId: SP, acsUrl: 'https://sp.example/system/sling/saml/corp/acs' });
  const settings = samlSettings('corp', {
    idpUrl: 'https://idp.example/sso', idpEntityId: idp.entityId, idpCert: [idp.keys.certificatePem],
    serviceProviderEntityId: SP, handleLogout: true, logoutUrl: 'https://idp.example/slo',
  });

  it('refuses one whose Signature is empty, though node-saml alone skips the check for an empty Signature', async () => {
    const unsigned = new URL(idp.logoutRequest(SLO_URL, { nameId: 'victor', sign: false }).url);
    const genuine = readRedirectMessage(unsigned.search.slice(1));
    // What a reader that took `Signature=` for a signature would hand over.
    const forged = { ...genuine, signed: true, container: { ...genuine.container, SigAlg: 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256', Signature: '' } };
    await assert.rejects(checkRedirectMessage(settings, forged, { sloUrl: SLO_URL, spKey: null }), /signature/i);
  });

  it('takes one signed by the IdP key', async () => {
    const signed = readRedirectMessage(new URL(idp.logoutRequest(SLO_URL, { nameId: 'victor' }).url).search.slice(1));
    assert.ok(signed.signed);
    assert.equal((await checkRedirectMessage(settings, signed, { sloUrl: SLO_URL, spKey: null }))?.nameId, 'victor');
  });
});
