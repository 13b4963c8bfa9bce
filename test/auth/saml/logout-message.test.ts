import assert from 'node:assert/strict';
import { deflateRawSync } from 'node:zlib';
import { describe, it } from 'node:test';
import { readRedirectMessage } from '../../../src/auth/saml/logout-message.js';
import { SamlLogoutError } from '../../../src/auth/saml/logout-error.js';

const SHA256 = 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256';

function encoded(xml: string): string {
  return encodeURIComponent(deflateRawSync(Buffer.from(xml)).toString('base64'));
}

const request = (id = '_r1') =>
  `<samlp:LogoutRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="${id}" Version="2.0" IssueInstant="2026-01-01T00:00:00Z" Destination="https://sp.example/slo"><saml:Issuer>urn:idp</saml:Issuer><saml:NameID>alice</saml:NameID></samlp:LogoutRequest>`;

function refusal(query: string): string {
  try {
    readRedirectMessage(query);
  } catch (error) {
    assert.ok(error instanceof SamlLogoutError, String(error));
    return error.reason;
  }
  assert.fail('accepted');
}

describe('reading a logout message from the raw query (HTTP-Redirect)', () => {
  it('reads the message and keeps the signed parameters raw, in the order the signature covers, without any other', () => {
    const message = readRedirectMessage(`Signature=c2ln&foo=bar&SigAlg=${encodeURIComponent(SHA256)}&RelayState=a%20b&SAMLRequest=${encoded(request())}`);
    assert.equal(message.kind, 'request');
    assert.equal(message.id, '_r1');
    assert.equal(message.issuer, 'urn:idp');
    assert.equal(message.destination, 'https://sp.example/slo');
    assert.equal(message.container.RelayState, 'a b');
    assert.ok(message.signed);
    assert.equal(message.signedQuery, `SAMLRequest=${encoded(request())}&RelayState=a%20b&SigAlg=${encodeURIComponent(SHA256)}&Signature=c2ln`);
  });

  it('refuses a parameter given twice, both or neither message, and a signature without an accepted SigAlg', () => {
    assert.equal(refusal(`SAMLRequest=${encoded(request('_a'))}&SAMLRequest=${encoded(request('_b'))}`), 'malformed');
    assert.equal(refusal(`SAMLRequest=${encoded(request())}&SAMLResponse=${encoded(request())}`), 'malformed');
    assert.equal(refusal('RelayState=x'), 'malformed');
    assert.equal(refusal(`SAMLRequest=${encoded(request())}&Signature=c2ln`), 'weak-algorithm');
    assert.equal(refusal(`SAMLRequest=${encoded(request())}&Signature=c2ln&SigAlg=${encodeURIComponent('http://www.w3.org/2000/09/xmldsig#rsa-sha1')}`), 'weak-algorithm');
  });

  it('refuses a message that inflates beyond its limit, a document type declaration, and another root element', () => {
    const bomb = `<samlp:LogoutRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="_x">${' '.repeat(200_000)}</samlp:LogoutRequest>`;
    assert.ok(encoded(bomb).length < 2000, 'a small URL');
    assert.equal(refusal(`SAMLRequest=${encoded(bomb)}`), 'malformed');
    assert.equal(refusal(`SAMLRequest=${encoded(`<!DOCTYPE x [<!ENTITY e "e">]>${request()}`)}`), 'doctype');
    assert.equal(refusal(`SAMLResponse=${encoded(request())}`), 'malformed');
  });
});
