import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { readResponseShape } from '../../../src/auth/saml/response-shape.js';

/**
 * Responses a real identity provider sent (Debian's SimpleSAMLphp 1.19.7 on loopback, captured
 * 2026-12-07; long expired, kept as data): the shape rules that refuse signature wrapping must
 * not refuse these.
 */
function vector(name: string): string {
  return readFileSync(new URL(`../../vectors/saml/${name}`, import.meta.url)).toString('base64');
}

describe("the shape checks accept a real IdP's responses", () => {
  it('SimpleSAMLphp, Response and Assertion signed, answering a request', () => {
    const shape = readResponseShape(vector('simplesamlphp-response.xml'));
    assert.equal(shape.responseSigned, true);
    assert.equal(shape.assertionSigned, true);
    assert.equal(shape.encrypted, false);
    assert.equal(shape.destination, 'http://127.0.0.1:18081/saml/acs');
    assert.match(shape.inResponseTo ?? '', /^_[0-9a-f]+$/);
    assert.equal(shape.keyInfoCertificates.length, 2);
  });

  it('SimpleSAMLphp, IdP-initiated (no InResponseTo)', () => {
    const shape = readResponseShape(vector('simplesamlphp-idp-initiated.xml'));
    assert.equal(shape.inResponseTo, null);
    assert.equal(shape.responseSigned && shape.assertionSigned, true);
  });

  it('SimpleSAMLphp, encrypted assertion in a signed Response', () => {
    const shape = readResponseShape(vector('simplesamlphp-encrypted.xml'));
    assert.equal(shape.encrypted, true);
    assert.equal(shape.responseSigned, true);
    assert.equal(shape.assertion.localName, 'EncryptedAssertion');
  });
});
