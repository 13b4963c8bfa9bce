/**
 * Writes the SAML attack corpus: one XML file per case and cases.json, the manifest that
 * test/auth/saml/acs-vectors.test.ts runs against the ACS of a started instance.
 *
 *   npx tsx test/vectors/saml/generate.ts
 *
 * The responses are issued by samlify (test/helpers/saml-idp.ts, an IdP independent of node-saml)
 * with the FIXED test-only key pair in this folder (idp-key.pem, idp-cert.pem; other-key.pem signs
 * the case of a wrong signer: made on the first run, never used anywhere else), at a fixed instant, for a fixed request ID, SP entity id and ACS
 * URL (SETTINGS below, copied into the manifest). The attacks are then made from the signed XML
 * (test/helpers/saml-xml-edits.ts). What each case must end in (reason, the two values the log
 * names, the words on the login page) is written here by hand: regenerating must never copy the
 * verifier's current opinion into the expectations. Signing is deterministic, so running this
 * again rewrites the same files, except the encrypted one (a random session key, to a recipient
 * certificate made per run: the provider it is posted to holds no key anyway).
 */
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { extensions, forgedAssertion, NS_A, NS_DS, parse, removeSignatures, serialize, stripSignatures } from '../../helpers/saml-xml-edits.js';
import { NAMEID_PERSISTENT, RSA_SHA1, testIdp, type IssueOptions } from '../../helpers/saml-idp.js';
import { selfSigned, type SelfSigned } from '../../helpers/self-signed.js';

const HERE = (name: string) => fileURLToPath(new URL(name, import.meta.url));


import { SETTINGS, type VectorCase } from './corpus.js';

const INSTANT = new Date(SETTINGS.instant);
const MINUTE = 60_000;
const OTHER_ACS = 'https://www.example.test/system/sling/saml/wrong/acs';


/** A test-only key pair kept in this folder (made on the first run), so that running again signs the same bytes. */
function storedKeys(prefix: string, commonName: string): SelfSigned {
  const keyFile = HERE(`${prefix}-key.pem`);
  const certFile = HERE(`${prefix}-cert.pem`);
  if (!existsSync(keyFile)) {
    const made = selfSigned({ commonName, notBefore: new Date('2025-01-01T00:00:00Z'), notAfter: new Date('2046-01-01T00:00:00Z') });
    writeFileSync(keyFile, made.privateKeyPem);
    writeFileSync(certFile, made.certificatePem);
  }
  const privateKeyPem = readFileSync(keyFile, 'utf8');
  return { privateKeyPem, certificatePem: readFileSync(certFile, 'utf8'), privateKey: createPrivateKey(privateKeyPem) };
}

const fingerprint = (pem: string) => new X509Certificate(pem).fingerprint256;

async function main(): Promise<void> {
  const keys = storedKeys('idp', 'capsule-vector-idp (test only)');
  const sp = { entityId: SETTINGS.spEntityId, acsUrl: SETTINGS.acsUrl };
  const idp = testIdp(sp, { entityId: SETTINGS.idpEntityId, keys });
  const stranger = storedKeys('other', 'someone-else (test only)');
  const strangerIdp = testIdp(sp, { entityId: SETTINGS.idpEntityId, keys: stranger });

  let serial = 0;
  /** A response to the fixed request, issued at the fixed instant, with IDs of its own (so no case uses up another's assertion). */
  const issue = (options: Omit<IssueOptions, 'requestId'> & { requestId?: string | null } = {}, by = idp) => {
    serial += 1;
    const number = String(serial).padStart(2, '0');
    return by.issue({ requestId: SETTINGS.requestId, now: INSTANT, responseId: `_vector-response-${number}`, assertionId: `_vector-assertion-${number}`, ...options });
  };
  const edit = async (options: Omit<IssueOptions, 'requestId'>, change: (doc: Document) => void) => {
    const doc = parse(await issue(options));
    change(doc);
    return serialize(doc);
  };
  const RESPONSE_ONLY = { response: true, assertion: false };
  const ASSERTION_ONLY = { response: false, assertion: true };
  const assertionOf = (doc: Document) => doc.getElementsByTagNameNS(NS_A, 'Assertion')[0]!;
  const signatureOf = (element: Element) => Array.from(element.childNodes).find((node) => node.nodeType === 1 && (node as Element).localName === 'Signature' && (node as Element).namespaceURI === NS_DS) as Element;

  const files = new Map<string, string>();
  const cases: VectorCase[] = [];
  const add = (entry: VectorCase, xml: string) => {
    files.set(entry.file, xml);
    cases.push(entry);
  };

  add({ name: 'valid', file: 'valid.xml', attack: 'none: a correct response, signed on the response and the assertion; it must be accepted', outcome: 'accepted', userId: 'valerie' }, await issue({ nameId: 'valerie' }));

  // The eight XML signature wrapping variants of McIntosh & Austel (2005) and Somorovsky et al., "On Breaking SAML" (2012), as SAML Raider names them.
  add(
    { name: 'xsw1', file: 'xsw1.xml', outcome: 'refused', reason: 'structure', forgedUser: 'admin', attack: 'XSW1: a forged Response (new ID, forged assertion) as the root, carrying the original Signature, with the original signed Response (its signature removed) inside that Signature' },
    await edit({ sign: RESPONSE_ONLY }, (doc) => {
      const original = doc.documentElement!;
      const signature = signatureOf(original);
      const evil = original.cloneNode(true) as Element;
      removeSignatures(evil);
      evil.setAttribute('ID', '_evil-response');
      original.removeChild(signature);
      doc.replaceChild(evil, original);
      evil.getElementsByTagNameNS(NS_A, 'NameID')[0]!.textContent = 'admin';
      evil.insertBefore(signature, evil.firstChild!.nextSibling);
      signature.appendChild(original);
    }),
  );
  add(
    { name: 'xsw2', file: 'xsw2.xml', outcome: 'refused', reason: 'structure', forgedUser: 'admin', attack: 'XSW2: as XSW1, but the original signed Response (its signature removed) is a sibling before the Signature (a detached signature)' },
    await edit({ sign: RESPONSE_ONLY }, (doc) => {
      const original = doc.documentElement!;
      const signature = signatureOf(original);
      const evil = original.cloneNode(true) as Element;
      removeSignatures(evil);
      evil.setAttribute('ID', '_evil-response');
      original.removeChild(signature);
      doc.replaceChild(evil, original);
      evil.getElementsByTagNameNS(NS_A, 'NameID')[0]!.textContent = 'admin';
      evil.insertBefore(signature, evil.firstChild!.nextSibling);
      evil.insertBefore(original, signature);
    }),
  );
  add(
    { name: 'xsw3', file: 'xsw3.xml', outcome: 'refused', reason: 'structure', forgedUser: 'admin', attack: 'XSW3: a forged, unsigned assertion (new ID) inserted before the signed assertion, as its sibling' },
    await edit({ sign: ASSERTION_ONLY }, (doc) => doc.documentElement!.insertBefore(forgedAssertion(doc, '_evil-assertion'), assertionOf(doc))),
  );
  add(
    { name: 'xsw4', file: 'xsw4.xml', outcome: 'refused', reason: 'structure', forgedUser: 'admin', attack: 'XSW4: a forged, unsigned assertion (new ID) in place of the signed one, which becomes its child' },
    await edit({ sign: ASSERTION_ONLY }, (doc) => {
      const signed = assertionOf(doc);
      const evil = forgedAssertion(doc, '_evil-assertion');
      doc.documentElement!.replaceChild(evil, signed);
      evil.appendChild(signed);
    }),
  );
  add(
    { name: 'xsw5', file: 'xsw5.xml', outcome: 'refused', reason: 'structure', forgedUser: 'admin', attack: "XSW5: the signed assertion's values changed (admin) keeping its Signature, and a copy of the original assertion (no signature, same ID) appended at the end of the response" },
    await edit({ sign: ASSERTION_ONLY }, (doc) => {
      const signed = assertionOf(doc);
      const copy = removeSignatures(signed.cloneNode(true) as Element);
      signed.getElementsByTagNameNS(NS_A, 'NameID')[0]!.textContent = 'admin';
      doc.documentElement!.appendChild(copy);
    }),
  );
  add(
    { name: 'xsw6', file: 'xsw6.xml', outcome: 'refused', reason: 'structure', forgedUser: 'admin', attack: "XSW6: the signed assertion's values changed (admin) keeping its Signature, with a copy of the original assertion (no signature, same ID) inside that Signature" },
    await edit({ sign: ASSERTION_ONLY }, (doc) => {
      const signed = assertionOf(doc);
      const copy = removeSignatures(signed.cloneNode(true) as Element);
      signed.getElementsByTagNameNS(NS_A, 'NameID')[0]!.textContent = 'admin';
      signatureOf(signed).appendChild(copy);
    }),
  );
  add(
    { name: 'xsw7', file: 'xsw7.xml', outcome: 'refused', reason: 'structure', forgedUser: 'admin', attack: 'XSW7: a samlp:Extensions element holding a forged, unsigned copy of the assertion (same ID), before the signed assertion' },
    await edit({ sign: ASSERTION_ONLY }, (doc) => doc.documentElement!.insertBefore(extensions(doc, forgedAssertion(doc, null)), assertionOf(doc))),
  );
  add(
    { name: 'xsw8', file: 'xsw8.xml', outcome: 'refused', reason: 'structure', forgedUser: 'admin', attack: "XSW8: the signed assertion's values changed (admin) keeping its Signature, with a ds:Object in that Signature holding the original assertion (no signature, same ID)" },
    await edit({ sign: ASSERTION_ONLY }, (doc) => {
      const signed = assertionOf(doc);
      const copy = removeSignatures(signed.cloneNode(true) as Element);
      signed.getElementsByTagNameNS(NS_A, 'NameID')[0]!.textContent = 'admin';
      const object = doc.createElementNS(NS_DS, 'ds:Object');
      object.appendChild(copy);
      signatureOf(signed).appendChild(object);
    }),
  );

  add(
    { name: 'second-unsigned-assertion', file: 'second-unsigned-assertion.xml', outcome: 'refused', reason: 'structure', forgedUser: 'admin', attack: 'a second, unsigned assertion (new ID, admin) after the signed one, in a signed response' },
    await edit({}, (doc) => doc.documentElement!.appendChild(forgedAssertion(doc, '_evil-assertion'))),
  );
  add(
    { name: 'assertion-out-of-signed-response', file: 'assertion-out-of-signed-response.xml', outcome: 'refused', reason: 'unsigned', forgedUser: 'mallory', logged: { expected: 'a signature by ', received: 'no signature' }, attack: 'the assertion of a response signed on the response alone, moved into a new, unsigned response (the response signature dropped)' },
    (await issue({ nameId: 'mallory', sign: RESPONSE_ONLY })).replace(/<ds:Signature[\s\S]*?<\/ds:Signature>/, '').replace(/ID="_vector-response-\d+"/, 'ID="_evil-response"'),
  );
  add(
    { name: 'signed-assertion-in-unsigned-response', file: 'signed-assertion-in-unsigned-response.xml', outcome: 'refused', reason: 'in-response-to', forgedUser: 'mallory', logged: { expected: SETTINGS.requestId, received: '_someone-elses-request in the assertion' }, attack: "an assertion signed for another request, moved into an unsigned response whose InResponseTo is this browser's request" },
    (await issue({ nameId: 'mallory', requestId: '_someone-elses-request', sign: ASSERTION_ONLY })).replace(/(<samlp:Response [^>]*)InResponseTo="_someone-elses-request"/, `$1InResponseTo="${SETTINGS.requestId}"`),
  );

  add(
    { name: 'nameid-comment-signed', file: 'nameid-comment-signed.xml', outcome: 'accepted', userId: 'carol.evil', attack: 'a comment inside the NameID, signed by the IdP (carol<!---->.evil): the whole value is the user, never the part before the comment' },
    await issue({ nameId: 'carol.evil', edit: (xml) => xml.replace('>carol.evil</saml:NameID>', '>carol<!---->.evil</saml:NameID>') }),
  );
  add(
    { name: 'nameid-comment-injected', file: 'nameid-comment-injected.xml', outcome: 'accepted', userId: 'dave.evil', attack: 'a comment put inside the NameID after signing (exclusive canonicalization leaves comments out, so the signature holds): the whole value is the user' },
    (await issue({ nameId: 'dave.evil' })).replace('>dave.evil</saml:NameID>', '>dave<!-- cut here -->.evil</saml:NameID>'),
  );

  const signedForDoctype = await issue({ nameId: 'mallory' });
  add(
    { name: 'doctype-billion-laughs', file: 'doctype-billion-laughs.xml', outcome: 'refused', reason: 'doctype', forgedUser: 'mallory', logged: { expected: 'no document type declaration', received: '<!DOCTYPE' }, attack: 'a DOCTYPE with nested internal entities (billion laughs) expanded in the NameID' },
    '<?xml version="1.0"?>\n<!DOCTYPE samlp:Response [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;"><!ENTITY e "&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;">]>\n' +
      signedForDoctype.replace('>mallory</saml:NameID>', '>&e;</saml:NameID>'),
  );
  add(
    { name: 'doctype-external-entity', file: 'doctype-external-entity.xml', outcome: 'refused', reason: 'doctype', forgedUser: 'mallory', neverRead: '/etc/passwd', logged: { expected: 'no document type declaration', received: '<!DOCTYPE' }, attack: 'a DOCTYPE with an external entity (file:///etc/passwd) in the NameID: the file must never be read' },
    '<?xml version="1.0"?>\n<!DOCTYPE samlp:Response [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n' + signedForDoctype.replace('>mallory</saml:NameID>', '>&xxe;</saml:NameID>'),
  );

  add(
    { name: 'audience', file: 'audience.xml', outcome: 'refused', reason: 'audience', forgedUser: 'mallory', attack: 'a correctly signed assertion for another SP (Audience)', loop: { cause: 'audience mismatch', loginPage: 'The sign-in response was issued for another site.' }, logged: { expected: SETTINGS.spEntityId, received: 'https://other.example.test/saml' } },
    await issue({ nameId: 'mallory', audience: 'https://other.example.test/saml' }),
  );
  add(
    { name: 'recipient', file: 'recipient.xml', outcome: 'refused', reason: 'recipient', forgedUser: 'mallory', attack: 'a correctly signed assertion whose bearer confirmation names another ACS URL (Recipient)', loop: { cause: 'wrong ACS URL (Recipient)', loginPage: 'The sign-in response was addressed to another sign-in address of this or another site.' }, logged: { expected: SETTINGS.acsUrl, received: OTHER_ACS } },
    await issue({ nameId: 'mallory', recipient: OTHER_ACS }),
  );
  add(
    { name: 'destination', file: 'destination.xml', outcome: 'refused', reason: 'destination', forgedUser: 'mallory', attack: 'a correctly signed response sent to another ACS URL (Destination)', loop: { cause: 'wrong ACS URL (Destination)', loginPage: 'The sign-in response was sent to another sign-in address of this or another site.' }, logged: { expected: SETTINGS.acsUrl, received: OTHER_ACS } },
    await issue({ nameId: 'mallory', destination: OTHER_ACS }),
  );
  const emailFormat = 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress';
  add(
    { name: 'nameid-format', file: 'nameid-format.xml', outcome: 'refused', reason: 'nameid-format', forgedUser: 'mallory', attack: 'a NameID in another format than the configured one', loop: { cause: 'NameID format', loginPage: 'The identity provider sent the user name in another format than the one configured.' }, logged: { expected: NAMEID_PERSISTENT, received: emailFormat } },
    await issue({ nameId: 'mallory', nameIdFormat: emailFormat }),
  );
  const ended = new Date(INSTANT.getTime() - 60 * MINUTE);
  add(
    { name: 'expired', file: 'expired.xml', outcome: 'refused', reason: 'expired', forgedUser: 'mallory', attack: 'NotOnOrAfter an hour before the instant (the SP clock ahead, or an old response)', loop: { cause: 'clock skew beyond tolerance (SP ahead)', loginPage: 'The sign-in response has expired. Please sign in again; if this repeats, the clocks of this site and the identity provider differ.' }, logged: { expected: `before ${ended.toISOString()} (+60 s tolerance)`, received: SETTINGS.instant } },
    await issue({ nameId: 'mallory', notBefore: new Date(INSTANT.getTime() - 120 * MINUTE), notOnOrAfter: ended }),
  );
  const begins = new Date(INSTANT.getTime() + 5 * MINUTE);
  add(
    { name: 'not-yet-valid', file: 'not-yet-valid.xml', outcome: 'refused', reason: 'not-yet-valid', forgedUser: 'mallory', attack: 'NotBefore five minutes after the instant, beyond the 60 s clock tolerance (the SP clock behind)', loop: { cause: 'clock skew beyond tolerance (SP behind)', loginPage: 'The sign-in response is not valid yet: the clocks of this site and the identity provider differ.' }, logged: { expected: `from ${begins.toISOString()} (−60 s tolerance)`, received: SETTINGS.instant } },
    await issue({ nameId: 'mallory', notBefore: begins, notOnOrAfter: new Date(INSTANT.getTime() + 10 * MINUTE) }),
  );
  add(
    { name: 'unsigned', file: 'unsigned.xml', outcome: 'refused', reason: 'unsigned', forgedUser: 'mallory', attack: 'neither the response nor the assertion signed', loop: { cause: 'unsigned response', loginPage: 'The sign-in response is not signed by the identity provider.' }, logged: { expected: `a signature by ${fingerprint(keys.certificatePem)} on the Response or the Assertion`, received: 'no signature' } },
    stripSignatures(await issue({ nameId: 'mallory' })),
  );
  add(
    { name: 'other-key', file: 'other-key.xml', outcome: 'refused', reason: 'signature-invalid', forgedUser: 'mallory', attack: 'signed by another key than the configured IdP certificate (other-key.pem, its certificate other-cert.pem in KeyInfo)', loop: { cause: 'certificate mismatch', loginPage: 'The signature on the sign-in response could not be verified with the identity provider certificates configured here.' }, logged: { expected: fingerprint(keys.certificatePem), received: fingerprint(stranger.certificatePem) } },
    await issue({ nameId: 'mallory' }, strangerIdp),
  );
  const recipientKeys = selfSigned({ commonName: 'an SP key this site does not hold (test only)' });
  add(
    { name: 'encrypted-no-key', file: 'encrypted-no-key.xml', provider: 'nokey', outcome: 'refused', reason: 'no-decryption-key', forgedUser: 'mallory', attack: 'an encrypted assertion posted to a provider that has no SP key', loop: { cause: 'encrypted assertion without a key', loginPage: 'The sign-in response is encrypted, and this site has no key to decrypt it.' }, logged: { expected: 'the SP private key', received: 'none configured' } },
    await issue({ nameId: 'mallory', encryptTo: recipientKeys.certificatePem }),
  );

  add(
    { name: 'holder-of-key', file: 'holder-of-key.xml', outcome: 'refused', reason: 'confirmation-method', forgedUser: 'mallory', logged: { expected: 'urn:oasis:names:tc:SAML:2.0:cm:bearer', received: 'urn:oasis:names:tc:SAML:2.0:cm:holder-of-key' }, attack: 'a holder-of-key subject confirmation instead of bearer, signed' },
    await issue({ nameId: 'mallory', edit: (xml) => xml.replace('cm:bearer', 'cm:holder-of-key') }),
  );
  add(
    { name: 'sha1', file: 'sha1.xml', outcome: 'refused', reason: 'weak-algorithm', forgedUser: 'mallory', logged: { expected: 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256', received: RSA_SHA1 }, attack: 'signed with RSA-SHA1' },
    await issue({ nameId: 'mallory', signatureAlgorithm: RSA_SHA1 }),
  );
  add(
    { name: 'other-request', file: 'other-request.xml', outcome: 'refused', reason: 'in-response-to', forgedUser: 'mallory', logged: { expected: SETTINGS.requestId, received: '_someone-elses-request' }, attack: "a correctly signed answer to another request than this browser's (InResponseTo)" },
    await issue({ nameId: 'mallory', requestId: '_someone-elses-request' }),
  );
  add(
    { name: 'oversize', file: 'oversize.xml', padTo: 256 * 1024 + 1, outcome: 'refused', reason: 'too-large', forgedUser: 'mallory', logged: { expected: 'at most 262144 characters', received: '262145 characters' }, attack: 'a valid response padded with line breaks beyond the 256 KiB SAMLResponse limit (within the POST body limit)' },
    await issue({ nameId: 'mallory' }),
  );
  add(
    { name: 'no-authn-statement', file: 'no-authn-statement.xml', outcome: 'refused', reason: 'no-authn-statement', forgedUser: 'mallory', logged: { expected: 'an AuthnStatement in the assertion', received: 'none' }, attack: 'a signed bearer assertion without an AuthnStatement (the Web SSO profile 4.1.4.2 requires one): it says nothing of a sign-in' },
    await issue({ nameId: 'mallory', edit: (xml) => xml.replace(/<saml:AuthnStatement[\s\S]*?<\/saml:AuthnStatement>/, '') }),
  );

  for (const [file, xml] of files) writeFileSync(HERE(file), xml);
  const manifest = { generatedBy: 'test/vectors/saml/generate.ts', settings: SETTINGS, cases };
  writeFileSync(HERE('cases.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  console.log(`${cases.length} cases written to ${HERE('.')}`);
}

await main();
