import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { parseIdpMetadata } from '../../../src/auth/saml/idp-metadata.js';
import { isCapsuleError } from '../../../src/errors.js';
import { NAMEID_PERSISTENT, TEST_SP, testIdp } from '../../helpers/saml-idp.js';

const simpleSamlPhp = readFileSync(new URL('../../vectors/saml/simplesamlphp-idp-metadata.xml', import.meta.url), 'utf8');
const idp = testIdp(TEST_SP);

function refusedAs(xml: string, pattern: RegExp, entityId: string | null = null): void {
  assert.throws(
    () => parseIdpMetadata(xml, entityId),
    (error) => isCapsuleError(error, 'INVALID_CONFIG') && pattern.test(error.message),
  );
}

describe('IdP metadata', () => {
  it("reads SimpleSAMLphp's: entity id, Redirect SSO and SLO, the signing certificate, NameID formats", () => {
    const metadata = parseIdpMetadata(simpleSamlPhp);
    assert.equal(metadata.entityId, 'http://127.0.0.2:18080/saml2/idp/metadata.php');
    assert.equal(metadata.ssoUrl, 'http://127.0.0.2:18080/saml2/idp/SSOService.php');
    assert.equal(metadata.sloUrl, 'http://127.0.0.2:18080/saml2/idp/SingleLogoutService.php');
    assert.equal(metadata.signingCertificates.length, 1);
    assert.match(new X509Certificate(metadata.signingCertificates[0]!).subject, /simplesamlphp-test-idp/);
  });

  it("reads samlify's, whose certificate is the IdP's own", () => {
    const metadata = parseIdpMetadata(idp.metadata());
    assert.equal(metadata.entityId, idp.entityId);
    assert.equal(metadata.ssoUrl, 'http://127.0.0.1:1/sso');
    assert.deepEqual(metadata.nameIdFormats, [NAMEID_PERSISTENT]);
    assert.equal(new X509Certificate(metadata.signingCertificates[0]!).fingerprint256, new X509Certificate(idp.keys.certificatePem).fingerprint256);
  });

  it('chooses the named entity in an aggregate, and asks for a name where there are several', () => {
    const entity = simpleSamlPhp.replace(/^<\?xml[^>]*>\s*/, '');
    const aggregate = `<md:EntitiesDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata">${entity}${idp.metadata().replace(/^<\?xml[^>]*>\s*/, '')}</md:EntitiesDescriptor>`;
    assert.equal(parseIdpMetadata(aggregate, idp.entityId).entityId, idp.entityId);
    refusedAs(aggregate, /2 entities/);
    refusedAs(aggregate, /does not describe urn:nobody/, 'urn:nobody');
  });

  it('refuses a DOCTYPE, something else than metadata, an SP, and an IdP without a signing certificate or Redirect SSO', () => {
    refusedAs(`<!DOCTYPE x [<!ENTITY e "e">]>${simpleSamlPhp.replace(/^<\?xml[^>]*>\s*/, '')}`, /document type declaration/);
    refusedAs('<html><body>Sign in</body></html>', /not SAML metadata/);
    refusedAs(simpleSamlPhp.replace(/IDPSSODescriptor/g, 'SPSSODescriptor'), /not a SAML 2.0 identity provider/);
    refusedAs(simpleSamlPhp.replace(/<md:KeyDescriptor use="signing">[\s\S]*?<\/md:KeyDescriptor>/g, ''), /no signing certificate/);
    refusedAs(simpleSamlPhp.replace(/<md:SingleSignOnService [^>]*HTTP-Redirect[^>]*\/>/g, ''), /no SingleSignOnService/);
    refusedAs('<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata"', /not well-formed/);
  });
});
