import assert from 'node:assert/strict';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { generateSpKeyPair, selfSignedCertificate } from '../../../src/auth/saml/sp-certificate.js';
import { fixedClock } from '../../../src/clock.js';

describe('the SP key pair and its self-signed certificate', () => {
  it('is RSA 3072 with a certificate for that key, signed by it, valid from an hour before the clock for ten years', () => {
    const now = Date.parse('2026-12-07T06:00:00Z');
    const pair = generateSpKeyPair(fixedClock(now), { commonName: 'capsule-sp corp' });
    const certificate = new X509Certificate(pair.certificatePem);
    assert.equal(certificate.subject, 'CN=capsule-sp corp');
    assert.equal(certificate.issuer, 'CN=capsule-sp corp');
    assert.ok(certificate.verify(certificate.publicKey), 'self-signed');
    assert.ok(certificate.checkPrivateKey(createPrivateKey(pair.privateKeyPem)));
    assert.equal(createPrivateKey(pair.privateKeyPem).asymmetricKeyDetails?.modulusLength, 3072);
    assert.equal(new Date(certificate.validFrom).toISOString(), '2026-12-07T05:00:00.000Z');
    assert.equal(new Date(certificate.validTo).toISOString(), '2036-12-04T06:00:00.000Z');
  });

  it('writes any window, UTCTime before 2050 and GeneralizedTime after, and openssl reads it as a SHA-256 signed v3 certificate', () => {
    const pair = generateSpKeyPair(fixedClock(0), { commonName: 'x', modulusLength: 2048 });
    const certificate = selfSignedCertificate(pair.privateKeyPem, { commonName: 'window', notBefore: new Date('2020-01-01T00:00:00Z'), notAfter: new Date('2060-06-30T12:00:00Z') });
    const parsed = new X509Certificate(certificate);
    assert.equal(new Date(parsed.validFrom).toISOString(), '2020-01-01T00:00:00.000Z');
    assert.equal(new Date(parsed.validTo).toISOString(), '2060-06-30T12:00:00.000Z');
    const text = execFileSync('openssl', ['x509', '-noout', '-text'], { input: certificate }).toString();
    assert.match(text, /Version: 3/);
    assert.match(text, /Signature Algorithm: sha256WithRSAEncryption/);
  });
});
