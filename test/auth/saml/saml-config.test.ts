import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  checkSamlProviderName,
  NAMEID_FORMAT_PERSISTENT,
  samlComponent,
  samlPid,
  samlProviderNameOf,
  samlSettings,
} from '../../../src/auth/saml/saml-config.js';
import { revealSpPrivateKey } from '../../../src/auth/saml/sp-private-key.js';
import { createConfigAdmin } from '../../../src/config/index.js';
import { createCryptoSupport, generateKey, type CryptoSupport } from '../../../src/crypto/index.js';
import { isCapsuleError } from '../../../src/errors.js';
import { selfSigned } from '../../helpers/self-signed.js';
import { tempRepository } from '../../helpers/services.js';

async function cryptoWithFreshKeys(): Promise<CryptoSupport> {
  const crypto = createCryptoSupport({
    load: async () => ({ storage: 'file', master: generateKey(), stagedMaster: null, hmac: generateKey(), stagedHmac: null, retiredHmac: [] }),
  });
  await crypto.refresh();
  return crypto;
}

const crypto = await cryptoWithFreshKeys();
const oldIdp = selfSigned({ commonName: 'idp-old' });
const newIdp = selfSigned({ commonName: 'idp-new' });
const sp = selfSigned({ commonName: 'sp' });

async function admin() {
  const config = createConfigAdmin({ repo: tempRepository(), protector: crypto });
  config.register(samlComponent);
  await config.load();
  return config;
}

const required = {
  idpUrl: 'https://idp.example.com/sso',
  idpEntityId: 'https://idp.example.com/metadata',
  idpCert: [oldIdp.certificatePem],
  serviceProviderEntityId: 'https://www.example.com/saml/corp',
};

describe('the SAML configuration component capsule.auth.saml~NAME', () => {
  it('gives strict defaults: persistent NameID, 60 s tolerance, no IdP-initiated login, no encryption or signing asked', async () => {
    const config = await admin();
    await config.update(samlPid('corp'), required);
    const settings = samlSettings('corp', config.current(samlPid('corp')));
    assert.equal(settings.pid, 'capsule.auth.saml~corp');
    assert.equal(settings.title, 'corp');
    assert.equal(settings.nameIdFormat, NAMEID_FORMAT_PERSISTENT);
    assert.equal(settings.clockToleranceSeconds, 60);
    assert.equal(settings.groupMembershipAttribute, 'groupMembership');
    assert.equal(settings.userIdAttribute, null, 'the NameID is the user id');
    assert.equal(settings.acsUrl, null);
    assert.equal(settings.allowIdpInitiated, false);
    assert.equal(settings.signRequests, false);
    assert.equal(settings.wantEncryptedAssertions, false);
    assert.equal(settings.handleLogout, false);
    assert.equal(settings.provisioningMaxAgeSeconds, 900);
    assert.deepEqual(settings.idpCertificates, [oldIdp.certificatePem.trim()]);
  });

  it('keeps several IdP certificates for a key rollover, as list entries or as blocks of one entry', async () => {
    const config = await admin();
    await config.update(samlPid('corp'), { ...required, idpCert: [oldIdp.certificatePem, newIdp.certificatePem] });
    assert.equal(samlSettings('corp', config.current(samlPid('corp'))).idpCertificates.length, 2);
    await config.update(samlPid('corp'), { idpCert: [oldIdp.certificatePem + newIdp.certificatePem] });
    assert.deepEqual(samlSettings('corp', config.current(samlPid('corp'))).idpCertificates, [oldIdp.certificatePem.trim(), newIdp.certificatePem.trim()]);
  });

  it('refuses an IdP certificate that is not PEM, or a damaged one, when written, and stores nothing', async () => {
    const config = await admin();
    const damaged = oldIdp.certificatePem.replace(/\n[A-Za-z0-9+/]{10}/, '\nAAAAAAAAAA');
    for (const idpCert of [['not a certificate'], [damaged], []]) {
      await assert.rejects(config.update(samlPid('corp'), { ...required, idpCert }), (error) => isCapsuleError(error, 'INVALID_CONFIG'), JSON.stringify(idpCert).slice(0, 40));
    }
    assert.equal(config.stored(samlPid('corp')), null);
  });

  it('refuses an IdP URL, logout URL or metadata URL that is not https (plain http only to loopback), when written, and stores nothing', async () => {
    const config = await admin();
    const refusals: Array<Record<string, string>> = [
      { idpUrl: 'http://idp.example.com/sso' },
      { idpUrl: 'javascript:alert(1)//' },
      { idpUrl: 'ftp://idp.example.com/sso' },
      { logoutUrl: 'javascript:alert(document.domain)//' },
      { logoutUrl: 'http://idp.example.com/slo' },
      { logoutUrl: 'not a url' },
      { idpMetadataUrl: 'http://idp.example.com/metadata' },
    ];
    for (const bad of refusals) {
      await assert.rejects(
        config.update(samlPid('corp'), { ...required, ...bad }),
        (error) => isCapsuleError(error, 'INVALID_CONFIG') && /must be an https URL \(plain http only to a loopback address/.test(error.message) && error.message.includes(Object.keys(bad)[0]!),
        JSON.stringify(bad),
      );
    }
    assert.equal(config.stored(samlPid('corp')), null);
    await config.update(samlPid('corp'), { ...required, idpUrl: 'http://127.0.0.2:8080/sso', logoutUrl: 'http://localhost/slo', idpMetadataUrl: 'https://idp.example.com/metadata' });
    await config.update(samlPid('corp'), { ...required, logoutUrl: '', idpMetadataUrl: '' });
    assert.equal(samlSettings('corp', config.current(samlPid('corp'))).logoutUrl, null, 'empty: none');
  });

  it('says in the allowIdpInitiated description that it allows login CSRF', () => {
    assert.match(samlComponent.properties['allowIdpInitiated']!.description, /allows login CSRF: any web site can post an IdP-initiated response for the attacker's own account/);
  });

  it('refuses an SP certificate that is not PEM', async () => {
    const config = await admin();
    await assert.rejects(config.update(samlPid('corp'), { ...required, spCertificate: 'MIIB…' }), (error) => isCapsuleError(error, 'INVALID_CONFIG'));
    await config.update(samlPid('corp'), { ...required, spCertificate: sp.certificatePem });
    assert.equal(samlSettings('corp', config.current(samlPid('corp'))).spCertificate, sp.certificatePem.trim());
  });

  it('stores the SP private key encrypted with the master key, and gives it back in clear only through revealSpPrivateKey', async () => {
    const config = await admin();
    await config.update(samlPid('corp'), { ...required, spPrivateKey: sp.privateKeyPem });
    const stored = config.stored(samlPid('corp'))!['spPrivateKey'] as string;
    assert.ok(!stored.includes('PRIVATE KEY'), 'not stored in clear');
    const settings = samlSettings('corp', config.current(samlPid('corp')));
    assert.equal(revealSpPrivateKey(settings, crypto), sp.privateKeyPem);
  });

  it('takes an empty NameID format as "any format", and AEM-named values as written', async () => {
    const config = await admin();
    await config.update(samlPid('corp'), {
      ...required,
      nameIdFormat: '',
      clockTolerance: 5,
      userIDAttribute: 'uid',
      groupMembershipAttribute: '',
      groupMap: ['idp-editors=editors'],
      defaultGroups: ['saml-users'],
      allowIdpInitiated: true,
      title: 'Corporate login',
    });
    const settings = samlSettings('corp', config.current(samlPid('corp')));
    assert.equal(settings.nameIdFormat, null);
    assert.equal(settings.clockToleranceSeconds, 5);
    assert.equal(settings.userIdAttribute, 'uid');
    assert.equal(settings.groupMembershipAttribute, null);
    assert.deepEqual([...settings.groupMap], [['idp-editors', 'editors']]);
    assert.deepEqual(settings.defaultGroups, ['saml-users']);
    assert.equal(settings.allowIdpInitiated, true);
    assert.equal(settings.title, 'Corporate login');
  });

  it('refuses a clock tolerance beyond 10 minutes', async () => {
    const config = await admin();
    await assert.rejects(config.update(samlPid('corp'), { ...required, clockTolerance: 601 }), (error) => isCapsuleError(error, 'INVALID_CONFIG'));
  });

  it('names providers as OIDC does: up to 32 letters, digits, _ and -', () => {
    assert.equal(checkSamlProviderName('corp_1-a'), 'corp_1-a');
    assert.throws(() => samlPid('a/b'), (error) => isCapsuleError(error, 'INVALID_ARGUMENT'));
    assert.throws(() => samlPid('x'.repeat(33)), (error) => isCapsuleError(error, 'INVALID_ARGUMENT'));
    assert.equal(samlProviderNameOf('capsule.auth.saml~corp'), 'corp');
    assert.equal(samlProviderNameOf('capsule.auth.oidc~corp'), null);
  });
});
