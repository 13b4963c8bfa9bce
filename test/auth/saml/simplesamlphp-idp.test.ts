import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createSign, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { deflateRawSync } from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import { inspectSamlResponse } from '../../helpers/saml-response.js';
import { signInAtIdp, simpleSamlPhpUnavailable, startSimpleSamlPhp, type SamlTestUser, type SimpleSamlPhp } from '../../helpers/simplesamlphp.js';
import { tempDir } from '../../helpers/temp.js';

// The end-to-end IdP that issue 25's SAML tests will sign in through (test/helpers/simplesamlphp.ts),
// checked on its own before Capsule has a SAML SP: here the SP is a hand-built AuthnRequest and the
// response is read by test/helpers/saml-response.php, so a failure in Capsule's SAML tests later
// cannot be a broken test IdP.

const PERSISTENT = 'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent';
const SUCCESS = 'urn:oasis:names:tc:SAML:2.0:status:Success';
// Capsule's side stays on 127.0.0.1 (nothing listens there in this test: nothing is posted to the ACS).
const SP = { entityId: 'http://127.0.0.1:4502/system/sling/saml/test-idp/metadata', acsUrl: 'http://127.0.0.1:4502/system/sling/saml/test-idp/acs' };
const USERS: readonly SamlTestUser[] = [
  { username: 'alice', password: 'alice-pass-correct-horse', attributes: { uid: 'alice', mail: 'alice@example.invalid', groups: ['idp-editors', 'administrators'] } },
  { username: 'bob', password: 'bob-pass-correct-horse', attributes: { uid: 'bob', groups: [] } },
];

/** An HTTP-Redirect AuthnRequest URL (SAML bindings §3.4.4), signed over the query when `keyPem` is given. */
function authnRequestUrl(idp: SimpleSamlPhp, options: { id: string; relayState: string; keyPem?: string }): string {
  const xml =
    `<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion"` +
    ` ID="${options.id}" Version="2.0" IssueInstant="${new Date().toISOString()}" Destination="${idp.ssoUrl}"` +
    ` AssertionConsumerServiceURL="${SP.acsUrl}" ProtocolBinding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST">` +
    `<saml:Issuer>${SP.entityId}</saml:Issuer><samlp:NameIDPolicy Format="${PERSISTENT}" AllowCreate="true"/></samlp:AuthnRequest>`;
  const query = new URLSearchParams({ SAMLRequest: deflateRawSync(xml).toString('base64'), RelayState: options.relayState });
  if (options.keyPem) {
    query.set('SigAlg', 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256');
    query.set('Signature', createSign('RSA-SHA256').update(query.toString()).sign(options.keyPem, 'base64'));
  }
  return `${idp.ssoUrl}?${query}`;
}

function requestId(): string {
  return `_${randomBytes(16).toString('hex')}`;
}

/** The X509Certificate texts of the metadata's signing KeyDescriptors. */
function signingCertificates(metadata: string): string[] {
  return [...metadata.matchAll(/<md:KeyDescriptor use="signing">[\s\S]*?<ds:X509Certificate>([^<]+)<\/ds:X509Certificate>/g)].map((match) => match[1]!.replace(/\s/g, ''));
}

function base64Body(pem: string): string {
  return pem.replace(/-----[^-]+-----|\s/g, '');
}

describe('SimpleSAMLphp as the test IdP', { skip: simpleSamlPhpUnavailable() }, () => {
  let idp: SimpleSamlPhp;
  before(async () => {
    idp = await startSimpleSamlPhp({ users: USERS, sp: SP });
  });
  after(() => idp?.stop());

  it('serves metadata naming its entity id, its signing certificate and its endpoints, on loopback', async () => {
    assert.match(idp.baseUrl, /^http:\/\/127\.0\.0\.2:\d+$/);
    const metadata = await idp.metadataXml();
    assert.ok(metadata.includes(`entityID="${idp.entityId}"`), metadata);
    assert.deepEqual(signingCertificates(metadata), [base64Body(idp.certPem)]);
    assert.ok(metadata.includes(`Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="${idp.ssoUrl}"`), metadata);
    assert.ok(metadata.includes(`Location="${idp.sloUrl}"`), metadata);
  });

  it('signs a user in from an SP-initiated request and sends a signed Response to the configured ACS', async () => {
    const id = requestId();
    const signIn = await signInAtIdp(authnRequestUrl(idp, { id, relayState: '/content/home.html?a=1&b=2' }), { username: 'alice', password: 'alice-pass-correct-horse' });
    assert.ok(signIn.samlResponse, signIn.html);
    assert.equal(signIn.acsUrl, SP.acsUrl);
    assert.equal(signIn.relayState, '/content/home.html?a=1&b=2');

    const response = inspectSamlResponse(signIn.samlResponse, { idpCertPem: idp.certPem });
    assert.deepEqual(response.signatures, [
      { element: 'Response', valid: true },
      { element: 'Assertion', valid: true },
    ]);
    assert.equal(response.status, SUCCESS);
    assert.equal(response.destination, SP.acsUrl);
    assert.equal(response.inResponseTo, id);
    assert.equal(response.issuer, idp.entityId);
    assert.equal(response.encrypted, false);
    assert.deepEqual(response.assertion, {
      issuer: idp.entityId,
      nameId: 'alice',
      nameIdFormat: PERSISTENT,
      recipient: SP.acsUrl,
      subjectInResponseTo: id,
      audience: SP.entityId,
      attributes: { uid: ['alice'], mail: ['alice@example.invalid'], groups: ['idp-editors', 'administrators'] },
    });
  });

  it('sends an empty group list as an attribute with no values', async () => {
    const signIn = await signInAtIdp(authnRequestUrl(idp, { id: requestId(), relayState: '/' }), { username: 'bob', password: 'bob-pass-correct-horse' });
    assert.ok(signIn.samlResponse, signIn.html);
    const response = inspectSamlResponse(signIn.samlResponse, { idpCertPem: idp.certPem });
    assert.equal(response.assertion.nameId, 'bob');
    assert.deepEqual(response.assertion.attributes, { uid: ['bob'], groups: [] });
  });

  it('answers a wrong password with its login form again and no SAMLResponse', async () => {
    const signIn = await signInAtIdp(authnRequestUrl(idp, { id: requestId(), relayState: '/' }), { username: 'alice', password: 'wrong-pass-correct-horse' });
    assert.equal(signIn.samlResponse, undefined);
    assert.equal(signIn.status, 200);
    assert.match(signIn.html, /id="username"/);
    assert.match(signIn.html, /id="password"/);
  });

  it('signs a user in IdP-initiated: a Response to no request', async () => {
    const signIn = await signInAtIdp(idp.idpInitiatedUrl('/content/home.html'), { username: 'alice', password: 'alice-pass-correct-horse' });
    assert.ok(signIn.samlResponse, signIn.html);
    assert.equal(signIn.relayState, '/content/home.html');
    const response = inspectSamlResponse(signIn.samlResponse, { idpCertPem: idp.certPem });
    assert.equal(response.inResponseTo, null);
    assert.equal(response.assertion.subjectInResponseTo, null);
    assert.equal(response.destination, SP.acsUrl);
    assert.equal(response.assertion.nameId, 'alice');
  });

  it('takes new SP settings without a restart', async () => {
    const moved = { ...SP, acsUrl: 'http://127.0.0.1:4503/system/sling/saml/test-idp/acs' };
    idp.setServiceProvider(moved);
    try {
      const signIn = await signInAtIdp(idp.idpInitiatedUrl(), { username: 'alice', password: 'alice-pass-correct-horse' });
      assert.ok(signIn.samlResponse, signIn.html);
      assert.equal(signIn.acsUrl, moved.acsUrl);
      assert.equal(inspectSamlResponse(signIn.samlResponse, { idpCertPem: idp.certPem }).destination, moved.acsUrl);
    } finally {
      idp.setServiceProvider(SP);
    }
  });

  it('a signature made with another key does not verify with its certificate', async () => {
    const signIn = await signInAtIdp(authnRequestUrl(idp, { id: requestId(), relayState: '/' }), { username: 'alice', password: 'alice-pass-correct-horse' });
    assert.ok(signIn.samlResponse, signIn.html);
    const other = tempDir();
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=other', '-keyout', join(other, 'k'), '-out', join(other, 'c')], { stdio: 'ignore' });
    const response = inspectSamlResponse(signIn.samlResponse, { idpCertPem: readFileSync(join(other, 'c'), 'utf8') });
    assert.deepEqual(response.signatures, [
      { element: 'Response', valid: false },
      { element: 'Assertion', valid: false },
    ]);
  });
});

describe('SimpleSAMLphp for an SP that signs its requests and wants encrypted assertions', { skip: simpleSamlPhpUnavailable() }, () => {
  let idp: SimpleSamlPhp;
  let spKeyPem: string;
  before(async () => {
    const dir = tempDir();
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-sha256', '-nodes', '-days', '1', '-subj', '/CN=capsule-test-sp', '-keyout', join(dir, 'sp.key'), '-out', join(dir, 'sp.crt')], { stdio: 'ignore' });
    spKeyPem = readFileSync(join(dir, 'sp.key'), 'utf8');
    idp = await startSimpleSamlPhp({ users: USERS, sp: { ...SP, certPem: readFileSync(join(dir, 'sp.crt'), 'utf8'), wantSignedRequests: true, encryptAssertions: true } });
  });
  after(() => idp?.stop());

  it('refuses an unsigned AuthnRequest', async () => {
    const signIn = await signInAtIdp(authnRequestUrl(idp, { id: requestId(), relayState: '/' }), { username: 'alice', password: 'alice-pass-correct-horse' });
    assert.equal(signIn.samlResponse, undefined);
    assert.match(signIn.html, /no signature found on message/);
  });

  it('accepts a signed AuthnRequest and encrypts the signed assertion for the SP key', async () => {
    const id = requestId();
    const signIn = await signInAtIdp(authnRequestUrl(idp, { id, relayState: '/', keyPem: spKeyPem }), { username: 'alice', password: 'alice-pass-correct-horse' });
    assert.ok(signIn.samlResponse, signIn.html);
    const response = inspectSamlResponse(signIn.samlResponse, { idpCertPem: idp.certPem, spKeyPem });
    assert.equal(response.encrypted, true);
    assert.deepEqual(response.signatures, [
      { element: 'Response', valid: true },
      { element: 'Assertion', valid: true },
    ]);
    assert.equal(response.inResponseTo, id);
    assert.equal(response.assertion.nameId, 'alice');
    assert.deepEqual(response.assertion.attributes.groups, ['idp-editors', 'administrators']);
  });
});
