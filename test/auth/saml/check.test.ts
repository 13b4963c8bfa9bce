import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkSamlProvider, samlAcsUrl, samlSettings, type SamlSettings } from '../../../src/auth/saml/index.js';
import type { Clock } from '../../../src/clock.js';
import { createCryptoSupport, generateKey, type CryptoSupport } from '../../../src/crypto/index.js';
import { isCapsuleError } from '../../../src/errors.js';
import { selfSigned } from '../../helpers/self-signed.js';

async function cryptoWithFreshKeys(): Promise<CryptoSupport> {
  const crypto = createCryptoSupport({
    load: async () => ({ storage: 'file', master: generateKey(), stagedMaster: null, hmac: generateKey(), stagedHmac: null, retiredHmac: [] }),
  });
  await crypto.refresh();
  return crypto;
}

const DAY_MS = 24 * 60 * 60 * 1000;
const NOW = Date.UTC(2026, 11, 7, 12, 0, 0);
const clock: Clock = { now: () => NOW };
const crypto = await cryptoWithFreshKeys();
const sp = selfSigned({ commonName: 'sp', notBefore: new Date(NOW - DAY_MS), notAfter: new Date(NOW + 3650 * DAY_MS) });
const idpUntil = (days: number) => selfSigned({ commonName: `idp-${days}`, notBefore: new Date(NOW - 400 * DAY_MS), notAfter: new Date(NOW + days * DAY_MS) }).certificatePem;

function settings(values: Record<string, unknown>): SamlSettings {
  return samlSettings('corp', {
    idpUrl: 'https://idp.example.com/sso',
    idpEntityId: 'https://idp.example.com',
    serviceProviderEntityId: 'https://www.example.com/saml',
    spPrivateKey: crypto.protect(sp.privateKeyPem),
    spCertificate: sp.certificatePem,
    ...values,
  } as never);
}

const check = (values: Record<string, unknown>) => checkSamlProvider('corp', () => settings(values), { crypto, clock });

describe('the offline SAML provider check', () => {
  it('is ok with a valid IdP certificate and an SP key that decrypts and matches its certificate', () => {
    const result = check({ idpCert: [idpUntil(365)] });
    assert.equal(result.status, 'ok');
    assert.equal(result.code, null);
    assert.match(result.message, /^corp: IdP certificate valid until 2027-12-07, SP key decrypts with master key [0-9a-f]+ and matches the SP certificate, SP certificate valid until 2036-12-04$/);
  });

  it('warns from 30 days before the IdP certificate expires, by the injected clock', () => {
    assert.equal(check({ idpCert: [idpUntil(31)] }).status, 'ok');
    const warned = check({ idpCert: [idpUntil(29)] });
    assert.equal(warned.status, 'warn');
    assert.match(warned.message, /IdP certificate expires on 2027-01-05 \(in 29 days\)/);
  });

  it('is critical once the only IdP certificate has expired, and only warns for an expired one beside a valid one (rollover)', () => {
    const expired = check({ idpCert: [idpUntil(-1)] });
    assert.equal(expired.status, 'critical');
    assert.equal(expired.code, 'INVALID_CONFIG');
    assert.match(expired.message, /^corp: IdP certificate expired on 2026-12-06/);

    const rollover = check({ idpCert: [idpUntil(-1), idpUntil(365)] });
    assert.equal(rollover.status, 'warn');
    assert.match(rollover.message, /IdP certificate 1 expired on 2026-12-06: remove it, IdP certificate 2 valid until 2027-12-07/);

    assert.equal(check({ idpCert: [idpUntil(-2), idpUntil(-1)] }).status, 'critical');
  });

  it('is critical when the SP key is missing where requests are signed or assertions encrypted, a warning otherwise', () => {
    assert.equal(check({ idpCert: [idpUntil(365)], spPrivateKey: undefined }).status, 'warn');
    const signing = check({ idpCert: [idpUntil(365)], spPrivateKey: undefined, signRequests: true });
    assert.equal(signing.status, 'critical');
    assert.match(signing.message, /no SP private key is configured \(spPrivateKey\)/);
  });

  it('is critical when the SP certificate is not the key\'s, or has expired', () => {
    const other = selfSigned({ commonName: 'other' });
    assert.match(check({ idpCert: [idpUntil(365)], spCertificate: other.certificatePem }).message, /SP key decrypts with master key [0-9a-f]+, but it does not match the SP certificate$/);
    const expiredSp = selfSigned({ commonName: 'old-sp', notBefore: new Date(NOW - 400 * DAY_MS), notAfter: new Date(NOW - DAY_MS) });
    const result = check({ idpCert: [idpUntil(365)], spPrivateKey: crypto.protect(expiredSp.privateKeyPem), spCertificate: expiredSp.certificatePem });
    assert.equal(result.status, 'critical');
    assert.match(result.message, /SP certificate expired on 2026-12-06$/);
  });

  it('never throws: a settings failure is a critical result with its code', () => {
    const result = checkSamlProvider('corp', () => {
      throw new Error('boom');
    }, { crypto, clock });
    assert.deepEqual(result, { name: 'corp', status: 'critical', code: 'INVALID_CONFIG', message: 'corp: boom' });
  });
});

describe('the ACS URL of a SAML provider', () => {
  it('is the configured one, else <SP entity id origin>/system/sling/saml/NAME/acs, else the site given', () => {
    assert.equal(samlAcsUrl(settings({ assertionConsumerServiceURL: 'https://proxy.example.com/sso/acs' })), 'https://proxy.example.com/sso/acs');
    assert.equal(samlAcsUrl(settings({})), 'https://www.example.com/system/sling/saml/corp/acs');
    assert.equal(samlAcsUrl(settings({ serviceProviderEntityId: 'urn:example:sp' }), 'http://127.0.0.1:4502/'), 'http://127.0.0.1:4502/system/sling/saml/corp/acs');
  });

  it('cannot be derived from an entity id that is no URL: the error says what to set', () => {
    assert.throws(
      () => samlAcsUrl(settings({ serviceProviderEntityId: 'urn:example:sp' })),
      (error: unknown) => isCapsuleError(error) && error.code === 'INVALID_CONFIG' && /set assertionConsumerServiceURL$/.test(error.message),
    );
  });
});
